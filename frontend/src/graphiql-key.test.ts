import { buildSchema, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import sdl from "../../schema.graphql?raw";
import { EXAMPLES } from "./examples";
import { RefusalState, keyedFetch, type Refusal } from "./graphiql-key";

function recorder(status: number) {
  const sent: Headers[] = [];
  const base = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    sent.push(new Headers(init?.headers));
    return new Response("{}", { status });
  }) as typeof fetch;
  return { sent, base };
}

describe("keyedFetch", () => {
  it("adds the stored key as a bearer token and keeps the other headers", async () => {
    const { sent, base } = recorder(200);
    const answers: (Refusal | null)[] = [];
    const wrapped = keyedFetch(base, () => "egw_secret", (r) => answers.push(r));
    await wrapped("/graphql", { method: "POST", headers: { "content-type": "application/json" } });
    expect(sent[0]?.get("authorization")).toBe("Bearer egw_secret");
    expect(sent[0]?.get("content-type")).toBe("application/json");
    expect(answers).toEqual([null]);
  });

  it("lets a header typed into the editor win, in any letter case", async () => {
    const { sent, base } = recorder(200);
    const wrapped = keyedFetch(base, () => "egw_stored", () => {});
    await wrapped("/graphql", { headers: { AUTHORIZATION: "Bearer egw_typed" } });
    expect(sent[0]?.get("authorization")).toBe("Bearer egw_typed");
  });

  it("sends no Authorization header without a key", async () => {
    const { sent, base } = recorder(200);
    await keyedFetch(base, () => null, () => {})("/graphql", {});
    expect(sent[0]?.has("authorization")).toBe(false);
  });

  it.each([
    [401, 401],
    [403, 403],
    [400, null],
    [429, null],
  ] as const)("reports status %i as refusal %s", async (status, refusal) => {
    const { base } = recorder(status);
    const answers: (Refusal | null)[] = [];
    const response = await keyedFetch(base, () => null, (r) => answers.push(r))("/graphql");
    expect(response.status).toBe(status);
    expect(answers).toEqual([refusal]);
  });
});

describe("RefusalState", () => {
  it("notifies listeners of changes only, until unsubscribed", () => {
    const state = new RefusalState();
    let calls = 0;
    const unsubscribe = state.subscribe(() => (calls += 1));
    state.set(401);
    state.set(401);
    expect(state.get()).toBe(401);
    state.set(null);
    unsubscribe();
    state.set(403);
    expect(calls).toBe(2);
  });
});

describe("the schema bundled into GraphiQL", () => {
  const schema = buildSchema(sdl);

  it("is the committed schema.graphql, with the API's root fields", () => {
    expect(Object.keys(schema.getQueryType()?.getFields() ?? {})).toContain("seriesList");
    expect(schema.getMutationType()).toBeTruthy();
  });

  it.each(EXAMPLES.map((query) => [query.split("\n")[0] ?? "", query]))(
    "validates the example tab %s",
    (_title, query) => {
      expect(validate(schema, parse(query)).map((e) => e.message)).toEqual([]);
    },
  );
});
