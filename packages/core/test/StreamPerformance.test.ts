/**
 * What a streamed call adds to its model's figures (PerformanceMonitor): the
 * time to first token is the first chunk with content (not the response
 * headers, nor a first chunk that only names the role), the latency runs from
 * the call's start to the stream's end, tokens/s is the output over that
 * latency; a stream its client never read (abandoned after 30 s) or left
 * before its end is neither the model's failure nor its latency; streams
 * that break mid-way are failed calls of their model, for its health too
 * (`failureThreshold` of them in a row make it unavailable, whatever their
 * first chunks).
 *
 * Time is `TestClock`: the provider double waits on the clock between its
 * headers and each chunk.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk } from "@modelgate/domain/Chat"
import { Overloaded } from "@modelgate/domain/ProviderError"
import { PerformanceRecord } from "@modelgate/domain/Records"
import { Effect, Fiber, Option, Stream, TestClock } from "effect"
import { Gateway } from "../src/Gateway.js"
import { HealthChecker } from "../src/HealthChecker.js"
import { PerformanceMonitor } from "../src/PerformanceMonitor.js"
import type { Provider } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { textChunk } from "./ChunkFixtures.js"
import { ask, costStack, requirements, untilSome } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const streamer = model("streamer", { provider: "google", pricing: { inputPerMillion: 1, outputPerMillion: 4 } })

/** Every stream sends two chunks, then breaks with an overload. */
const breaking: Provider = {
  id: "google",
  requiresKey: false,
  chat: () => Effect.die("not called"),
  stream: (ctx) =>
    Effect.succeed({
      chunks: Stream.make(textChunk("Once"), textChunk(" upon")).pipe(
        Stream.concat(Stream.fail(new Overloaded({ provider: "google", model: ctx.model.id, detail: "overloaded mid-stream" })))
      ),
      rateLimit: undefined,
      providerRequestId: undefined
    }),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

/** Headers after `headersMs`, then each chunk after its delay; `end: "hang"` never ends after them. */
const provider = (headersMs: number, timed: ReadonlyArray<readonly [number, ChatChunk]>, end: "end" | "hang" = "end"): Provider => ({
  id: "google",
  requiresKey: false,
  chat: () => Effect.die("not called"),
  stream: () =>
    Effect.as(Effect.sleep(headersMs), {
      chunks: Stream.fromIterable(timed).pipe(
        Stream.mapEffect(([ms, chunk]) => Effect.as(Effect.sleep(ms), chunk)),
        Stream.concat(end === "hang" ? Stream.never : Stream.empty)
      ),
      rateLimit: undefined,
      providerRequestId: undefined
    }),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

const performanceRecords = Effect.map(
  Effect.flatMap(RecordSink.MemoryRecords, (records) => records.all),
  (all) => all.filter((r): r is PerformanceRecord => (r as { _tag?: string })._tag === "PerformanceRecord")
)

/** Move the clock by `ms` in 10 ms steps, letting the forked fibers run between them. */
const drive = (ms: number) => Effect.repeatN(Effect.zipRight(TestClock.adjust(10), Effect.repeatN(Effect.yieldNow(), 5)), ms / 10 - 1)

describe("A streamed call in its model's figures", () => {
  it.effect("TTFT at the first content chunk, latency to the end, tokens/s over it", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const monitor = yield* PerformanceMonitor
      const fiber = yield* Effect.fork(Effect.flatMap(
        gateway.stream(ask("streamer", "tell me a story", { stream: true }), requirements),
        (answer) => Stream.runDrain(answer.chunks)
      ))
      yield* drive(1_000)
      yield* Fiber.join(fiber)
      const [record] = yield* performanceRecords
      assert.deepInclude(record, { success: true, streamed: true, timeToFirstTokenMs: 350, latencyMs: 650, outputTokens: 26 })
      const perf = Option.getOrThrow(yield* monitor.modelPerformance("streamer"))
      assert.deepInclude(perf, { requests: 1, successRate: 1, ttftP50Ms: 350, latencyP50Ms: 650 })
      assert.closeTo(perf.tokensPerSecond!, 26 / 0.65, 1e-9)
    }).pipe(Effect.provide(costStack([streamer], provider(50, [
      [100, textChunk("")],
      [200, textChunk("Once upon")],
      [300, textChunk(" a time", "stop", { prompt: 10, completion: 26 })]
    ])))))

  for (const [what, leave] of [
    ["never reads it (abandoned after 30 s)", () => TestClock.adjust("31 seconds")],
    ["stops reading it before its end", (chunks: Stream.Stream<ChatChunk, unknown>) => Stream.runDrain(Stream.take(chunks, 1))]
  ] as const) {
    it.effect(`a stream whose client ${what}: recorded, charged, neither the model's failure nor its latency`, () =>
      Effect.gen(function* () {
        const gateway = yield* Gateway
        const monitor = yield* PerformanceMonitor
        const health = yield* HealthChecker
        const answer = yield* gateway.stream(ask("streamer", "tell me a story", { stream: true }), requirements)
        yield* leave(answer.chunks)
        // An abandonment runs on its own fiber.
        const records = yield* untilSome(performanceRecords)
        assert.deepStrictEqual(records.map((r) => [r.success, r.errorClass]), [[false, "Interrupted"]], "the client's doing")
        assert.isTrue(Option.isNone(yield* monitor.modelPerformance("streamer")), "nothing counted for or against the model")
        assert.deepInclude(yield* health.status("streamer"), { status: "available", consecutiveFailures: 0 }, "the model was answering")
      }).pipe(Effect.provide(costStack([streamer], provider(0, [[0, textChunk("Once upon")]], "hang")))))
  }

  it.effect("streams that break mid-way, failureThreshold in a row, make their model unavailable", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const health = yield* HealthChecker
      const monitor = yield* PerformanceMonitor
      for (let i = 0; i < 3; i++) {
        const answer = yield* gateway.stream(ask("streamer", `story ${i}`, { stream: true }), requirements)
        const failed = yield* Effect.flip(Stream.runDrain(answer.chunks))
        assert.strictEqual(failed._tag, "Overloaded")
      }
      assert.deepInclude(yield* health.status("streamer"), { status: "unavailable", consecutiveFailures: 3 })
      assert.deepInclude(Option.getOrThrow(yield* monitor.modelPerformance("streamer")), { requests: 3, successRate: 0 })
    }).pipe(Effect.provide(costStack([streamer], breaking))))
})
