/**
 * How the adapters tie each request to a `Scope` (closing it aborts the
 * request). A client may offer it directly, under `executeInScope`
 * (GatewayLive's lean undici client does): the adapters then hand it the
 * scope, with nothing put into their context. Any other client gets
 * `HttpClient.withScope`, with the scope as the `Scope` service of the call.
 */
import type { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import type { Effect, Scope } from "effect"

/** Where a client keeps its `ExecuteInScope`. */
export const executeInScope: unique symbol = Symbol.for("@modelgate/HttpClient/executeInScope")

/**
 * Send `request`, aborting it when `scope` closes (as `HttpClient.withScope`
 * with `scope` as the `Scope` service would). A caller interrupted before
 * the answer closes `scope` to abort it (the adapters close it on any
 * failure).
 */
export type ExecuteInScope = (
  request: HttpClientRequest.HttpClientRequest,
  scope: Scope.Scope
) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>

/** The client's own `ExecuteInScope`, when it offers one. */
export const executeInScopeOf = (client: HttpClient.HttpClient): ExecuteInScope | undefined =>
  (client as { readonly [executeInScope]?: ExecuteInScope })[executeInScope]
