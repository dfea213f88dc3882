/**
 * Run an adapter against a loopback server that answers each
 * request with a scripted raw answer (status, headers, body), as a provider
 * documents it.
 */
import type { HttpClient } from "@effect/platform"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { Provider } from "@modelgate/core/Provider"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Effect, type Scope } from "effect"

export interface RawAnswer {
  readonly status?: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body: string
}

/** An adapter at a loopback server answering with `answers` in turn (the last one repeated). */
export const rawAdapter = (
  makeAdapter: (getConfig: Effect.Effect<ProviderConfig>) => Effect.Effect<Provider, never, HttpClient.HttpClient | Scope.Scope>,
  answers: ReadonlyArray<RawAnswer>,
  config: Partial<ConstructorParameters<typeof ProviderConfig>[0]> = {}
) =>
  Effect.gen(function*() {
    let n = 0
    const server = yield* LoopbackServer.make((_request, res) => {
      const answer = answers[Math.min(n++, answers.length - 1)]!
      res.writeHead(answer.status ?? 200, { "content-type": "application/json", ...answer.headers })
      res.end(answer.body)
    })
    const provider = yield* makeAdapter(Effect.succeed(ProviderConfig.make({ baseUrl: server.url, maxRetries: 0, ...config })))
    return { server, provider }
  })

/** An SSE body from `data` payloads (objects are JSON-encoded), optionally with event names. */
export const sse = (events: ReadonlyArray<unknown>, eol = "\n"): string =>
  events.map((e) => {
    if (Array.isArray(e)) return `event: ${e[0]}${eol}data: ${typeof e[1] === "string" ? e[1] : JSON.stringify(e[1])}${eol}${eol}`
    return `data: ${typeof e === "string" ? e : JSON.stringify(e)}${eol}${eol}`
  }).join("")
