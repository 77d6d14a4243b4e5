// GraphiQL's requests carry the API key the dashboard keeps in this tab's session storage
// (never in a URL), and the page learns when the gateway refused one, so it can say what to do.

/** The answers that need another key: 401 (none or not valid), 403 (lacks the scope). */
export type Refusal = 401 | 403;

export const REFUSAL_MESSAGES: Record<Refusal, string> = {
  401: "Sign-in needed (401): this gateway needs an API key; queries need the read scope.",
  403:
    "This API key may not run this operation (403): queries need the read scope, " +
    "mutations the ingest scope (deleting samples: admin).",
};

/** The last refusal (null after an accepted request), for React's useSyncExternalStore. */
export class RefusalState {
  private value: Refusal | null = null;
  private readonly listeners = new Set<() => void>();

  readonly get = (): Refusal | null => this.value;

  readonly set = (value: Refusal | null): void => {
    if (value === this.value) return;
    this.value = value;
    for (const listener of this.listeners) listener();
  };

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

/** `base` with `Authorization: Bearer <key>` added when a key is stored and the request has
 * no Authorization header of its own (one typed into GraphiQL's headers editor wins); every
 * answer's refusal status (or null) goes to `onAnswer`. */
export function keyedFetch(
  base: typeof fetch,
  key: () => string | null,
  onAnswer: (refusal: Refusal | null) => void,
): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    const stored = key();
    if (stored && !headers.has("authorization")) headers.set("authorization", `Bearer ${stored}`);
    const response = await base(input, { ...init, headers });
    onAnswer(response.status === 401 || response.status === 403 ? response.status : null);
    return response;
  };
}
