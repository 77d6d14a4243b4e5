// Loading, error and data states of one request, and how each is shown.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";

export type Loadable<T> =
  | { state: "loading" }
  | { state: "error"; error: ApiError }
  | { state: "ready"; data: T };

/** Runs `load` whenever `key` changes; a newer run aborts and supersedes an older one. */
export function useLoad<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): Loadable<T> {
  const [result, setResult] = useState<Loadable<T>>({ state: "loading" });
  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    setResult({ state: "loading" });
    load(controller.signal).then(
      (data) => controller.signal.aborted || setResult({ state: "ready", data }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        const apiError = error instanceof ApiError ? error : new ApiError("graphql", String(error));
        setResult({ state: "error", error: apiError });
      },
    );
    return () => controller.abort();
  }, [key]);
  return result;
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="status loading" role="status" data-testid="loading">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error }: { error: ApiError }) {
  return (
    <div class={`status error ${error.kind}`} role="alert" data-testid={`error-${error.kind}`}>
      <strong>{TITLES[error.kind]}</strong> {error.message}
    </div>
  );
}

const TITLES: Record<ApiError["kind"], string> = {
  unauthenticated: "Sign-in needed.",
  forbidden: "Not allowed.",
  unavailable: "Unavailable.",
  graphql: "The request failed.",
  network: "No connection.",
};

export function Empty({ children }: { children: ComponentChildren }) {
  return (
    <p class="status empty" data-testid="empty">
      {children}
    </p>
  );
}
