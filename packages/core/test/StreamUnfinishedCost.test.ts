/**
 * What a stream that ends before its usage chunk is charged: its client
 * stopped reading, or it broke. The provider generated, and bills, what it
 * had begun; when it reported usage before the end (`StreamResult.usageSoFar`:
 * Anthropic's `message_start`, Gemini's running totals) the prompt side is
 * that report, cache reads at their price, not the gateway's estimate.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk, Usage } from "@modelgate/domain/Chat"
import { StreamInterrupted } from "@modelgate/domain/ProviderError"
import { Effect, Stream } from "effect"
import { computeCost, CostTracker } from "../src/CostTracker.js"
import { Gateway } from "../src/Gateway.js"
import type { Provider } from "../src/Provider.js"
import { textChunk } from "./ChunkFixtures.js"
import { BudgetLimit, BudgetsConfig } from "../src/GatewayConfigSchema.js"
import { abandonedStream, ask, costRecords, costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const pricing = { inputPerMillion: 1, outputPerMillion: 4, cachedInputPerMillion: 0.25 }
const gemini = model("gemini-double", { provider: "google", pricing })

/** Gemini's running usage after a few chunks: a long prompt mostly from its context cache, thoughts already spent. */
const running: Usage = {
  prompt_tokens: 10_000,
  completion_tokens: 12,
  total_tokens: 10_012,
  prompt_tokens_details: { cached_tokens: 8_000 },
  completion_tokens_details: { reasoning_tokens: 9 }
}

/** A provider whose stream sends `chunks` then `end` (waits forever, or breaks), having reported `running`. */
const streaming = (chunks: ReadonlyArray<ChatChunk>, end: "hang" | "break"): Provider => ({
  id: "google",
  requiresKey: false,
  chat: () => Effect.die("not called"),
  stream: (ctx) =>
    Effect.succeed({
      chunks: Stream.fromIterable(chunks).pipe(
        Stream.concat(end === "hang" ? Stream.never : Stream.fail(new StreamInterrupted({ provider: "google", model: ctx.model.id, detail: "cut" })))
      ),
      rateLimit: undefined,
      providerRequestId: undefined,
      usageSoFar: () => running
    }),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

const chunks = [textChunk(""), textChunk("Once upon"), textChunk(" a time")]
/** Twenty more chunks than the provider had counted tokens for. */
const many = [...chunks, ...Array.from({ length: 20 }, (_, i) => textChunk(` word${i}`))]
const billed = computeCost(pricing, { promptTokens: 10_000, completionTokens: 12, cachedTokens: 8_000 })

describe("Cost of a stream that ends before its usage chunk", () => {
  it.effect("a client that stops reading is charged the usage the provider reported so far, cache reads at their price", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const answer = yield* gateway.stream(ask("gemini-double", "tell me a story", { stream: true }), requirements)
      yield* Stream.runDrain(Stream.take(answer.chunks, 2))
      const [record] = yield* costRecords
      assert.strictEqual(record?.costPicoUsd, billed, `charged $${(record?.costPicoUsd ?? 0) / 1e12} where the provider bills $${billed / 1e12}`)
      assert.deepStrictEqual([record?.promptTokens, record?.cachedTokens, record?.completionTokens], [10_000, 8_000, 12])
      assert.strictEqual(answer.settledCostUsd?.(), billed / 1e12)
    }).pipe(Effect.provide(costStack([gemini], streaming(chunks, "hang")))))

  it.effect("a stream that breaks is charged the same, and once", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const answer = yield* gateway.stream(ask("gemini-double", "tell me a story", { stream: true }), requirements)
      const failed = yield* Effect.flip(Stream.runDrain(answer.chunks))
      assert.strictEqual(failed._tag, "StreamInterrupted")
      const records = yield* costRecords
      assert.deepStrictEqual(records.map((r) => r.costPicoUsd), [billed])
      // What the HTTP server sends as the announced cost trailer: the amount charged, not nothing.
      assert.strictEqual(answer.settledCostUsd?.(), billed / 1e12, "a broken stream's settled cost is what it was charged")
      assert.strictEqual(answer.settledUsage?.()?.estimated, true)
    }).pipe(Effect.provide(costStack([gemini], streaming(chunks, "break")))))

  it.effect("more chunks delivered than the provider had counted: at least one output token per chunk", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const answer = yield* gateway.stream(ask("gemini-double", "tell me a story", { stream: true }), requirements)
      yield* Effect.flip(Stream.runDrain(answer.chunks))
      const [record] = yield* costRecords
      assert.strictEqual(record?.completionTokens, many.length)
      assert.strictEqual(record?.costPicoUsd, computeCost(pricing, { promptTokens: 10_000, completionTokens: many.length, cachedTokens: 8_000 }))
    }).pipe(Effect.provide(costStack([gemini], streaming(many, "break")))))

  it.effect("a streamed answer nobody reads is charged when it is abandoned: the provider had begun it", () =>
    Effect.gen(function* () {
      const costs = yield* CostTracker
      const records = yield* abandonedStream("gemini-double", "tell me a story")
      assert.deepStrictEqual(records.map((r) => r.costPicoUsd), [billed], "the first chunks came from the provider: it bills them")
      const day = (yield* costs.budgetStatus).find((b) => b.budget === "global" && b.period === "daily")
      assert.deepStrictEqual([day?.reservedPicoUsd, day?.spentPicoUsd], [0n, BigInt(billed)], "nothing left held")
    }).pipe(Effect.provide(costStack([gemini], streaming(chunks, "hang"), {
      budgets: BudgetsConfig.make({ global: BudgetLimit.make({ daily: 100 }) })
    }))))
})
