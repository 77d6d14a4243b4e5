// The GraphQL client: one POST per operation to the same origin, the API key (if any) from
// session storage as a bearer token. Errors come back typed so views can say what to do.
import type { TypedDocumentString } from "./graphql/generated";

export const KEY_STORAGE = "energy-gateway.api-key";

export type ApiErrorKind = "unauthenticated" | "forbidden" | "unavailable" | "graphql" | "network";

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

interface GraphQLResponse<R> {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function request<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V,
  signal?: AbortSignal,
): Promise<R> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query: document.toString(), variables }),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError("network", "The gateway cannot be reached. Check the connection and retry.");
  }
  let body: GraphQLResponse<R> | null = null;
  try {
    body = (await response.json()) as GraphQLResponse<R>;
  } catch {
    body = null;
  }
  const message = body?.errors?.map((e) => e.message).join("; ") ?? response.statusText;
  if (response.status === 401) {
    throw new ApiError("unauthenticated", "An API key with the read scope is needed.", 401);
  }
  if (response.status === 403) {
    throw new ApiError("forbidden", `This API key may not read this data: ${message}`, 403);
  }
  if (response.status === 503 || response.status === 429) {
    throw new ApiError("unavailable", `The gateway is busy or unavailable (${response.status}): ${message}`, response.status);
  }
  if (!body || body.errors?.length || !body.data) {
    throw new ApiError("graphql", message || `HTTP ${response.status}`, response.status);
  }
  return body.data;
}
