// The dashboard: a header with the views and the API key, then the view the URL names.
import { render } from "preact";
import { useState } from "preact/hooks";
import { apiKey, request, setApiKey } from "./api";
import { SitesDocument } from "./graphql/generated";
import { ErrorBox, Loading, useLoad } from "./query";
import { href, navigate, useLocation } from "./router";
import "./style.css";
import { MarketView } from "./views/market";
import { ScenarioView } from "./views/scenario";
import { SeriesView } from "./views/series";
import { SiteView } from "./views/site";

function KeyForm({ onSaved, reason }: { onSaved: () => void; reason?: string }) {
  const [value, setValue] = useState("");
  return (
    <form
      class="key-form"
      data-testid="key-form"
      onSubmit={(e) => {
        e.preventDefault();
        setApiKey(value.trim() || null);
        onSaved();
      }}
    >
      <p>{reason ?? "This gateway needs an API key with the read scope."} The key stays in this tab's session storage.</p>
      <label>
        API key <input type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} data-testid="key-input" />
      </label>
      <button type="submit">Use key</button>
    </form>
  );
}

function Nav({ path, siteKey }: { path: string; siteKey?: string }) {
  const link = (to: string, label: string, active: boolean) => (
    <a
      href={to}
      aria-current={active ? "page" : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {label}
    </a>
  );
  return (
    <nav>
      {link(siteKey ? `/site/${encodeURIComponent(siteKey)}` : "/", "Site", path === "/" || path.startsWith("/site/"))}
      {link("/market/DE-LU", "Market", path.startsWith("/market/"))}
      {link("/series", "Series explorer", path === "/series")}
      <a href="/graphql">GraphiQL</a>
    </nav>
  );
}

function App() {
  const { path, params } = useLocation();
  const [generation, setGeneration] = useState(0);
  const sites = useLoad(`sites:${generation}`, (signal) => request(SitesDocument, {}, signal));
  const retry = () => setGeneration((g) => g + 1);
  const keyPresent = apiKey() !== null;
  const firstSite = sites.state === "ready" ? sites.data.sites[0]?.key : undefined;

  let body;
  if (sites.state !== "error" && path.startsWith("/site/")) {
    const list = sites.state === "ready" ? sites.data.sites : null;
    body = <SiteView sites={list} siteKey={decodeURIComponent(path.slice(6))} params={params} />;
  } else if (sites.state === "loading") body = <Loading what="sites" />;
  else if (sites.state === "error") {
    const needKey = sites.error.kind === "unauthenticated" || sites.error.kind === "forbidden";
    body = (
      <>
        <ErrorBox error={sites.error} />
        {needKey && <KeyForm onSaved={retry} reason={sites.error.kind === "forbidden" ? "This key lacks the read scope." : undefined} />}
      </>
    );
  } else if (path.startsWith("/market/")) {
    body = <MarketView zone={decodeURIComponent(path.slice(8))} params={params} />;
  } else if (path.startsWith("/scenario/")) {
    body = <ScenarioView scenarioKey={decodeURIComponent(path.slice(10))} />;
  } else if (path === "/series") {
    body = <SeriesView params={params} />;
  } else if (path === "/" && firstSite) {
    navigate(href(`/site/${encodeURIComponent(firstSite)}`, {}), true);
    body = <Loading what="the first site" />;
  } else if (path === "/") {
    body = <p class="status empty">No sites yet. Create one with the upsertSite mutation (see the README).</p>;
  } else {
    body = <p class="status empty">Nothing here. Pick a view above.</p>;
  }
  return (
    <>
      <header>
        <h1>Energy gateway</h1>
        <Nav path={path} siteKey={path.startsWith("/site/") ? decodeURIComponent(path.slice(6)) : firstSite} />
        {keyPresent && (
          <button
            type="button"
            class="forget-key"
            onClick={() => {
              setApiKey(null);
              retry();
            }}
          >
            Forget API key
          </button>
        )}
      </header>
      <main>{body}</main>
      <footer>
        Live updates arrive once the gateway offers subscriptions; until then reload or move the period to see new data.
      </footer>
    </>
  );
}

render(<App />, document.getElementById("app")!);
