/**
 * A stream committed by the hold (`failover.streamHoldMs`: its opening
 * carried none of the answer, and its first word came later) is timed for
 * health by its first word, as a stream committed by its first word is: the
 * hold's length says nothing of the model.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream, TestClock } from "effect"
import { Gateway } from "../src/Gateway.js"
import { defaultConfig, FailoverConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import type { Provider } from "../src/Provider.js"
import { textChunk } from "./ChunkFixtures.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

/** The model thinks this long before its first word. */
const firstWordAfterMs = 30_000

/** A provider whose stream opens at once with a role-only chunk and says its one word after `firstWordAfterMs`. */
const thinker: Provider = {
  id: "openai",
  requiresKey: false,
  chat: () => Effect.dieMessage("streamed only"),
  stream: () =>
    Effect.succeed({
      chunks: Stream.concat(
        Stream.make(textChunk(undefined)),
        Stream.fromEffect(Effect.as(Effect.sleep(firstWordAfterMs), textChunk("Hi", "stop", { prompt: 3, completion: 1 })))
      ),
      rateLimit: undefined,
      providerRequestId: undefined
    }),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

describe("a stream committed by the hold", () => {
  it.effect("is timed for health by its first word, not by the hold", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const opening = yield* Effect.fork(gateway.stream(ask("thinker", "think first", { stream: true }), requirements))
      yield* TestClock.adjust(10_000)
      const answer = yield* Fiber.join(opening)
      const reading = yield* Effect.fork(Stream.runCollect(answer.chunks))
      yield* TestClock.adjust(firstWordAfterMs - 10_000)
      yield* Fiber.join(reading)
      const health = yield* (yield* HealthChecker).status("thinker")
      assert.strictEqual(health.lastLatencyMs, firstWordAfterMs)
    }).pipe(
      Effect.provide(costStack([model("thinker")], thinker, {
        failover: FailoverConfig.make({ ...defaultConfig.failover, backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0, streamHoldMs: 10_000 })
      }))
    ))
})
