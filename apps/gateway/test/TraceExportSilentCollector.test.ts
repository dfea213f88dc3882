/**
 * A collector that takes the exports but never answers (hung, or behind a
 * proxy that holds the connection): the exporter sends a batch each 1000
 * spans, and each would wait on its connection for undici's five minutes,
 * retried three times, holding its spans all along. Under load that is a
 * new connection and a thousand more spans in memory every thousand spans,
 * for twenty minutes. Instead at most four exports wait at once, each for
 * 10 s (OpenTelemetry's default export timeout); beyond that the batch is
 * dropped, the exporter pauses as it does for a collector that fails, and
 * one warning says so.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Logger, Option, TestClock } from "effect"
import * as Http from "node:http"
import { settles } from "./support/HangDetector.js"
import * as ChatSpan from "../src/http/ChatSpan.js"
import * as Tracing from "../src/cli/Tracing.js"

/** The collector's tally: exports received, and how many of their connections the gateway has given up on. */
interface Tally {
  received: number
  abandoned: number
}

/** A collector that reads each export and never answers; `reached(check)` resolves once its tally passes `check`. */
const silentCollector = Effect.acquireRelease(
  Effect.async<{
    readonly url: string
    readonly tally: Tally
    readonly reached: (check: (tally: Tally) => boolean) => Promise<void>
    readonly server: Http.Server
  }>((resume) => {
    const tally: Tally = { received: 0, abandoned: 0 }
    const waiting: Array<() => void> = []
    const changed = () => waiting.splice(0).forEach((wake) => wake())
    const reached = (check: (tally: Tally) => boolean): Promise<void> =>
      check(tally) ? Promise.resolve() : new Promise((resolve) => void waiting.push(() => void reached(check).then(resolve)))
    const server = Http.createServer((req, res) => {
      req.resume()
      tally.received++
      changed()
      res.on("close", () => {
        tally.abandoned++
        changed()
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}/v1/traces`, tally, reached, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

const settings = (url: string): Tracing.TracingSettings => ({
  url,
  protocol: "http/json",
  headers: [],
  serviceName: "modelgate-test",
  exportIntervalMs: 5_000,
  exportTimeoutMs: 10_000,
  sampling: ChatSpan.alwaysOn
})

/** `n` ended spans, with the tracer on as in a traced call. */
const spans = (n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.withSpan(Effect.void, "chat gpt-4o-mini"), { discard: true }).pipe(
    Effect.withTracerEnabled(true)
  )

describe("a collector that never answers", () => {
  it.scoped("holds at most four exports at once, each for 10 s, then the exporter pauses and says so", () =>
    Effect.gen(function* () {
      const collector = yield* silentCollector
      const warned = yield* Deferred.make<string>()
      const logger = Logger.make(({ message }) => {
        const text = Array.isArray(message) ? message.join(" ") : String(message)
        if (text.includes("traces could not be exported")) Deferred.unsafeDone(warned, Effect.succeed(text))
      })
      const run = Effect.gen(function* () {
        // 20 batches of 1000: each would be its own export, waiting on the collector.
        yield* spans(20_000)
        const first = yield* Effect.raceFirst(
          Effect.map(Deferred.await(warned), Option.some),
          Effect.as(settles("a fifth export", () => collector.reached((t) => t.received >= 5)), Option.none<string>())
        )
        assert.isTrue(Option.isSome(first), `${collector.tally.received} exports left waiting on a collector that does not answer`)
        assert.include(Option.getOrThrow(first), collector.url)
        yield* settles("the four exports", () => collector.reached((t) => t.received >= 4))
        // Paused: what comes next is dropped, not sent nor kept.
        yield* spans(5_000)
        // The waiting exports give up after 10 s (their connections closed), and are not sent again.
        yield* TestClock.adjust("10 seconds")
        yield* settles("the exports given up", () => collector.reached((t) => t.abandoned >= 4))
        assert.strictEqual(collector.tally.received, 4)
      })
      yield* run.pipe(
        Effect.provide(Tracing.layer(Option.some(settings(collector.url)))),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
    }), 60_000)
})
