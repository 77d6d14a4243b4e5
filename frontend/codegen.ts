import type { CodegenConfig } from "@graphql-codegen/cli";

// Operation types from the committed schema; codegen fails when an operation does not validate.
const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/graphql/*.graphql"],
  generates: {
    "src/graphql/generated.ts": {
      plugins: ["typescript-operations", "typed-document-node"],
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: {
          DateTime: "string",
          JSON: "unknown",
          EpochMillisColumn: "number[]",
          FloatColumn: "number[]",
          DateTimeColumn: "string[]",
          NullableFloatColumn: "(number | null)[]",
          IntColumn: "number[]",
        },
        documentMode: "string",
      },
    },
  },
};
export default config;
