/**
 * The HTTP client of the traces exporter, telling when the collector fails:
 * `@effect/opentelemetry`'s exporter only logs a failed export at debug
 * level and pauses for a minute, so a wrong endpoint or a collector that is
 * down would lose every span without a word. One warning when exports start
 * failing (the collector unreachable, or answering other than 2xx), one
 * note when they work again; never a header (a vendor's key) or the URL's
 * query or credentials.
 */
import { HttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"

/** Why a request failed, without its URL or headers: the reason and the socket's error code. */
const failure = (error: { readonly reason?: string; readonly cause?: unknown }): string => {
  const code = typeof error.cause === "object" && error.cause !== null ? (error.cause as { readonly code?: unknown }).code : undefined
  return `${error.reason ?? "request"} error${typeof code === "string" ? ` (${code})` : ""}`
}

/** The exporter's client (undici), logging the first failure of a run of them and the recovery; `where` names the collector. */
export const layer = (where: string): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) => {
      let failing = false
      const failed = (reason: string) =>
        failing
          ? Effect.void
          : Effect.suspend(() => {
            failing = true
            return Effect.logWarning(`traces could not be exported to ${where}: ${reason}; spans are dropped until it answers (tried again each minute)`)
          })
      const answered = (status: number) => {
        if (status < 200 || status >= 300) return failed(`the collector answered HTTP ${status}`)
        if (!failing) return Effect.void
        failing = false
        return Effect.logInfo(`traces are exported to ${where} again`)
      }
      return client.pipe(
        HttpClient.tap((response) => answered(response.status)),
        HttpClient.tapError((error) => failed(failure(error as { readonly reason?: string; readonly cause?: unknown })))
      )
    })
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
