/**
 * What health hears of a stream that ends broken after its first chunk. A
 * stream the provider cut short (`StreamInterrupted`: a reset after the
 * headers, a body without its terminal event) is a failure of the model's
 * traffic, as a reset before the headers (`Transport`) is. A stream nobody
 * read, given up by the gateway (abandoned), says nothing of the model.
 */
import { assert, describe, it } from "@effect/vitest"
import { StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Effect, Stream } from "effect"
import { Gateway } from "../src/Gateway.js"
import { HealthChecker } from "../src/HealthChecker.js"
import type { Provider } from "../src/Provider.js"
import { textChunk } from "./ChunkFixtures.js"
import { abandonedStream, ask, costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const haiku = model("claude-double", { provider: "anthropic" })

/** A provider whose streams send two chunks, then wait forever (`hang`) or are cut (`cut`). */
const twoChunksThen = (end: "hang" | "cut"): Provider => ({
  id: "anthropic",
  requiresKey: false,
  chat: () => Effect.die("not called"),
  stream: (ctx) =>
    Effect.succeed({
      chunks: Stream.make(textChunk(""), textChunk("Once upon")).pipe(Stream.concat(
        end === "hang" ? Stream.never : Stream.fail(new StreamInterrupted({ provider: "anthropic", model: ctx.model.id, detail: "the stream ended before message_stop" }))
      )),
      rateLimit: undefined,
      providerRequestId: undefined
    }),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

const failedChecks = Effect.flatMap(HealthChecker, (health) =>
  Effect.map(health.history("claude-double"), (checks) => checks.filter((c) => !c.ok).map((c) => c.errorClass)))

describe("Health of a model whose stream breaks after its first chunk", () => {
  it.effect("a stream cut short counts against the model, once per stream", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      for (let i = 0; i < 2; i++) {
        const answer = yield* gateway.stream(ask("claude-double", `story ${i}`, { stream: true }), requirements)
        assert.strictEqual((yield* Effect.flip(Stream.runDrain(answer.chunks)))._tag, "StreamInterrupted")
      }
      assert.deepStrictEqual(yield* failedChecks, ["StreamInterrupted", "StreamInterrupted"])
    }).pipe(Effect.provide(costStack([haiku], twoChunksThen("cut")))))

  it.effect("a stream abandoned unread is charged, and says nothing of the model's health", () =>
    Effect.gen(function* () {
      const records = yield* abandonedStream("claude-double", "a story nobody reads")
      assert.lengthOf(records, 1, "the abandoned stream was settled")
      assert.deepStrictEqual(yield* failedChecks, [])
    }).pipe(Effect.provide(costStack([haiku], twoChunksThen("hang")))))
})
