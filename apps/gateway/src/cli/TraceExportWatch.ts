/**
 * The HTTP client of the traces exporter, telling when the collector fails:
 * `@effect/opentelemetry`'s exporter only logs a failed export at debug
 * level and pauses for a minute, so a wrong endpoint or a collector that is
 * down would lose every span without a word. One warning when exports start
 * failing (the collector unreachable, or answering other than 2xx), one
 * note when they work again; never a header (a vendor's key) or the URL's
 * query or credentials.
 *
 * It also bounds what a collector that does not answer can hold: the
 * exporter sends a batch each 1000 spans without waiting for the last, and
 * undici would wait five minutes for an answer, so a hung collector would
 * keep a connection and a thousand spans per batch for as long. An export
 * waits `timeout` at most (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s by default), and
 * at most `maxExportsWaiting` wait at once; past either, the batch is dropped
 * (not retried) and the exporter pauses for its minute.
 */
import { HttpClient, HttpClientError } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Duration, Effect, Layer } from "effect"

/** How many exports may wait on the collector at once; one more is dropped, and the exporter pauses. */
export const maxExportsWaiting = 4

/** Why a request failed, without its URL or headers: the reason and the socket's error code. */
const failure = (error: { readonly reason?: string; readonly cause?: unknown }): string => {
  const code = typeof error.cause === "object" && error.cause !== null ? (error.cause as { readonly code?: unknown }).code : undefined
  return `${error.reason ?? "request"} error${typeof code === "string" ? ` (${code})` : ""}`
}

/**
 * The exporter's client (undici), logging the first failure of a run of them
 * and the recovery; `where` names the collector, `timeout` bounds each export.
 */
export const layer = (where: string, timeout: Duration.Duration): Layer.Layer<HttpClient.HttpClient> =>
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
      let waiting = 0
      // Not `Transport`: the exporter retries only those, and a batch given up on is dropped.
      const givenUp = (request: Parameters<typeof client.execute>[0], description: string) =>
        new HttpClientError.RequestError({ request, reason: "Encode", description })
      const bounded = HttpClient.transform(client, (response, request) =>
        Effect.suspend(() => {
          if (waiting >= maxExportsWaiting) {
            const reason = `it has not answered the last ${maxExportsWaiting} exports`
            return Effect.zipRight(failed(reason), Effect.fail(givenUp(request, reason)))
          }
          waiting++
          return response.pipe(
            Effect.timeoutFail({
              duration: timeout,
              onTimeout: () => givenUp(request, `no answer within ${Duration.format(timeout)}`)
            }),
            Effect.ensuring(Effect.sync(() => waiting--))
          )
        }))
      return bounded.pipe(
        HttpClient.tap((response) => answered(response.status)),
        HttpClient.tapError((error) =>
          failed(error.reason === "Encode" ? error.description ?? "no answer" : failure(error as { readonly reason?: string; readonly cause?: unknown })))
      )
    })
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
