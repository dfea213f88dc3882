/**
 * How the adapters tie each request to a `Scope` (closing it aborts the
 * request): `HttpClient.withScope`, unless the client already does so itself
 * and says so with `abortsWithScope` (GatewayLive's lean undici client, which
 * saves withScope's `AbortController` per request).
 */
import { HttpClient, type HttpClientError } from "@effect/platform"
import type { Scope } from "effect"

/**
 * Set (to true) on a client that aborts each request when the `Scope` in its
 * caller's context closes, as `HttpClient.withScope` makes a client do.
 */
export const abortsWithScope: unique symbol = Symbol.for("@modelgate/HttpClient/abortsWithScope")

/** A client that aborts each request when the `Scope` in its caller's context closes: `client` itself when it does, else `withScope(client)`. */
export const scoped = (client: HttpClient.HttpClient): HttpClient.HttpClient.With<HttpClientError.HttpClientError, Scope.Scope> =>
  (client as { readonly [abortsWithScope]?: boolean })[abortsWithScope] === true ? client : HttpClient.withScope(client)
