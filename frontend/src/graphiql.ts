// GraphiQL from the deployment itself (no CDN), opened with the README's example queries as tabs.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { KEY_STORAGE } from "./api";
import { EXAMPLES } from "./examples";
import "./graphiql.css";

const key = sessionStorage.getItem(KEY_STORAGE);
const fetcher = createGraphiQLFetcher({
  url: "/graphql",
  headers: key ? { Authorization: `Bearer ${key}` } : {},
});

createRoot(document.getElementById("graphiql")!).render(
  createElement(GraphiQL, {
    fetcher,
    defaultTabs: EXAMPLES.map((query) => ({ query })),
    defaultEditorToolsVisibility: false,
    shouldPersistHeaders: false,
  }),
);
