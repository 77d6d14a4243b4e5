/** @jsxImportSource react */
// GraphiQL from the deployment itself (no CDN), opened with the README's example queries as tabs.
// Its schema is the committed ../schema.graphql built into this page, so it never sends an
// introspection query (production has introspection off). Requests carry the API key the
// dashboard keeps in this tab's session storage; a bar above the editor sets, changes or
// forgets it and says what a 401 or 403 means (docs/frontend.md). React, not Preact: GraphiQL
// is a React library, and this page is its own bundle.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { buildSchema } from "graphql";
import { useState, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import sdl from "../../schema.graphql?raw";
import { apiKey, setApiKey } from "./api";
import { EXAMPLES } from "./examples";
import { REFUSAL_MESSAGES, RefusalState, keyedFetch } from "./graphiql-key";
import "./graphiql.css";

const schema = buildSchema(sdl);
const refusal = new RefusalState();
const fetcher = createGraphiQLFetcher({
  url: "/graphql",
  fetch: keyedFetch(window.fetch.bind(window), apiKey, refusal.set),
});
const tabs = EXAMPLES.map((query) => ({ query }));

function KeyBar() {
  const refused = useSyncExternalStore(refusal.subscribe, refusal.get);
  const [hasKey, setHasKey] = useState(apiKey() !== null);
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState("");
  const use = (key: string | null) => {
    setApiKey(key);
    setHasKey(key !== null);
    setEditing(false);
    setValue("");
    refusal.set(null); // the message was about the previous key; the next run tells
  };
  return (
    <div className="key-bar graphiql-container" data-testid="graphiql-key-bar">
      <a href="/">Dashboard</a>
      {refused ? (
        <p role="alert" className="key-refused" data-testid={refused === 401 ? "error-unauthenticated" : "error-forbidden"}>
          {REFUSAL_MESSAGES[refused]}
        </p>
      ) : (
        <span data-testid="key-status">
          {hasKey ? "API key set for this tab." : "No API key (a production gateway asks for one)."}
        </span>
      )}
      {editing || refused ? (
        <form
          data-testid="key-form"
          onSubmit={(e) => {
            e.preventDefault();
            use(value.trim() || null);
          }}
        >
          <label>
            API key{" "}
            <input type="password" autoComplete="off" autoFocus value={value} onChange={(e) => setValue(e.currentTarget.value)} data-testid="key-input" />
          </label>
          <button type="submit">Use key</button>
          <span className="key-note">Kept in this tab's session storage only. Then run the query again.</span>
        </form>
      ) : (
        <button type="button" onClick={() => setEditing(true)} data-testid="key-edit">
          {hasKey ? "Change API key" : "Set API key"}
        </button>
      )}
      {hasKey && (
        <button type="button" onClick={() => use(null)}>
          Forget API key
        </button>
      )}
    </div>
  );
}

createRoot(document.getElementById("graphiql")!).render(
  <>
    <KeyBar />
    <GraphiQL fetcher={fetcher} schema={schema} defaultTabs={tabs} defaultEditorToolsVisibility={false} shouldPersistHeaders={false} />
  </>,
);
