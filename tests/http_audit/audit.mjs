// Runs the graphql-http server audits (GraphQL over HTTP conformance) against a live gateway
// and prints one JSON line per audit: {id, name, status, reason}. Usage:
//   node audit.mjs <graphql url> [api key]
// tests/gateway/test_graphql_over_http.py runs it and decides which results are acceptable
// (docs/api.md, "GraphQL over HTTP").
import { auditServer } from "graphql-http";

const [url, token] = process.argv.slice(2);
if (!url) {
  console.error("usage: node audit.mjs <graphql url> [api key]");
  process.exit(2);
}

// Every audit request carries the key, as a real client would.
const fetchWithKey = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn: fetchWithKey });
for (const { id, name, status, reason } of results) {
  console.log(JSON.stringify({ id, name, status, reason: reason ?? null }));
}
