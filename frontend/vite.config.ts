/// <reference types="vitest/config" />
import { resolve } from "node:path";
import { defineConfig } from "vite";

// Two pages: the dashboard (index.html, Preact) and GraphiQL (graphiql.html, React), built
// into the gateway package so the wheel and the image serve them (docs/frontend.md).
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: resolve(import.meta.dirname, "../gateway/static"),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      // GraphiQL's React libraries mark modules "use client"; meaningless outside React servers.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      input: {
        index: resolve(import.meta.dirname, "index.html"),
        graphiql: resolve(import.meta.dirname, "graphiql.html"),
      },
    },
  },
  server: {
    proxy: { "/graphql": "http://127.0.0.1:8000" },
    // GraphiQL's page imports the committed ../schema.graphql (its schema without introspection).
    fs: { allow: [import.meta.dirname, resolve(import.meta.dirname, "../schema.graphql")] },
  },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
