/**
 * What a stream that fails (or is left) before it reached its client is
 * charged: while the gateway peels its opening (up to its first text, and
 * the rest of the read that brought it) the request can still fail over, and
 * does. The provider bills what it had begun all the same: the input it
 * reported (Anthropic's `message_start`, Gemini's running totals) and any of
 * the answer it generated. That is charged once, to the model that failed,
 * beside the answer of the next; a stream that failed before the provider
 * reported or generated anything costs nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk, Usage } from "@modelgate/domain/Chat"
import { Overloaded, type ProviderError } from "@modelgate/domain/ProviderError"
import { Chunk, Effect, Fiber, Option, Stream } from "effect"
import { computeCost, CostTracker } from "../src/CostTracker.js"
import { Gateway } from "../src/Gateway.js"
import { BudgetLimit, BudgetsConfig } from "../src/GatewayConfigSchema.js"
import type { Provider } from "../src/Provider.js"
import { textChunk } from "./ChunkFixtures.js"
import { ask, costRecords, costStack, requirements, untilSome } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const pricing = { inputPerMillion: 1, outputPerMillion: 5, cachedInputPerMillion: 0.1 }

/** What `message_start` reported: a long prompt mostly read from the prompt cache, one output token. */
const reported: Usage = { prompt_tokens: 10_000, completion_tokens: 1, total_tokens: 10_001, prompt_tokens_details: { cached_tokens: 8_000 } }

/** One network read of the failing stream: its batch, and whether the stream's failure came with it. */
interface Read {
  readonly batch: ReadonlyArray<ChatChunk>
  readonly failing?: boolean
}

/** How "broken" streams: its reads, then it fails (or never answers again), having reported `usage` (or not). */
interface Script {
  readonly reads: ReadonlyArray<Read>
  readonly then: "fail" | "hang"
  readonly usage?: Usage | undefined
}

const opening = textChunk("")
const overloaded = () => new Overloaded({ provider: "anthropic", model: "broken", status: 200, detail: "Overloaded" })

/** "broken" streams as `script` says (as a bare pull, `failing` per read); "steady" answers whole. */
const provider = (script: Script, pulls: { count: number } = { count: 0 }): Provider => ({
  id: "anthropic",
  requiresKey: false,
  chat: () => Effect.die("not called"),
  stream: (ctx) => {
    if (ctx.model.id !== "broken") {
      return Effect.succeed({
        chunks: Stream.fromIterable([textChunk("Here you are."), textChunk(undefined, "stop", { prompt: 100, completion: 5 })]),
        rateLimit: undefined,
        providerRequestId: undefined
      })
    }
    let read = 0
    const pull = Effect.suspend((): Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<ProviderError>> => {
      pulls.count++
      const next = script.reads[read++]
      if (next !== undefined) return Effect.succeed(Chunk.unsafeFromArray(next.batch))
      return script.then === "hang" ? Effect.never : Effect.fail(Option.some(overloaded()))
    })
    const open = () => ({ pull, close: Effect.void, failing: () => script.reads[read - 1]?.failing === true })
    return Effect.succeed({
      chunks: Stream.die("read through open"),
      open,
      rateLimit: undefined,
      providerRequestId: undefined,
      usageSoFar: () => (read > 0 ? script.usage : undefined)
    })
  },
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
})

const models = [
  model("broken", { provider: "anthropic", pricing, qualityScore: 0.99, fallbacks: ["steady"] }),
  model("steady", { provider: "anthropic", pricing, qualityScore: 0.5 })
]
const budgets = BudgetsConfig.make({ global: BudgetLimit.make({ daily: 100 }) })
const steadyCost = computeCost(pricing, { promptTokens: 100, completionTokens: 5, cachedTokens: 0 })

/** The global daily budget's spent and held amounts. */
const daily = Effect.flatMap(CostTracker, (costs) =>
  Effect.map(costs.budgetStatus, (all) => {
    const b = all.find((x) => x.budget === "global" && x.period === "daily")!
    return { spent: b.spentPicoUsd, reserved: b.reservedPicoUsd }
  }))

/** Stream a request to "broken", read the answer (the fallback's) whole; the cost records and budget after. */
const failedOver = Effect.gen(function* () {
  const gateway = yield* Gateway
  const answer = yield* gateway.stream(ask("broken", "tell me a story", { stream: true }), requirements)
  assert.strictEqual(answer.meta.model, "steady")
  yield* Stream.runDrain(answer.chunks)
  return { answer, records: yield* costRecords, budget: yield* daily }
})

describe("Cost of a stream that fails before it reached its client", () => {
  it.effect("an Anthropic stream that fails after message_start, before its answer, is charged the input message_start reported", () =>
    Effect.gen(function* () {
      const { answer, budget, records } = yield* failedOver
      const billed = computeCost(pricing, { promptTokens: 10_000, completionTokens: 1, cachedTokens: 8_000 })
      assert.deepStrictEqual(records.map((r) => [r.model, r.costPicoUsd]), [["broken", billed], ["steady", steadyCost]])
      assert.deepStrictEqual([records[0]?.promptTokens, records[0]?.cachedTokens], [10_000, 8_000])
      assert.strictEqual(answer.settledCostUsd?.(), (billed + steadyCost) / 1e12, "the cost trailer counts the failed attempt once")
      assert.deepStrictEqual(budget, { spent: BigInt(billed + steadyCost), reserved: 0n })
    }).pipe(Effect.provide(costStack(models, provider({ reads: [{ batch: [opening] }], then: "fail", usage: reported }), { budgets }))))

  it.effect("a stream whose first text and failure came in one read (failed over) is charged what the provider reported", () =>
    Effect.gen(function* () {
      const { answer, budget, records } = yield* failedOver
      // Two chunks reached the gateway: at least one output token each.
      const billed = computeCost(pricing, { promptTokens: 10_000, completionTokens: 2, cachedTokens: 8_000 })
      assert.deepStrictEqual(records.map((r) => [r.model, r.costPicoUsd]), [["broken", billed], ["steady", steadyCost]])
      assert.strictEqual(answer.settledCostUsd?.(), (billed + steadyCost) / 1e12)
      assert.deepStrictEqual(budget, { spent: BigInt(billed + steadyCost), reserved: 0n })
    }).pipe(Effect.provide(costStack(models, provider({ reads: [{ batch: [opening, textChunk("Doomed")], failing: true }], then: "fail", usage: reported }), { budgets }))))

  it.effect("one whose provider reports usage only at the end (OpenAI, Ollama) is charged its estimate: the prompt, a token per chunk", () =>
    Effect.gen(function* () {
      const { answer, budget, records } = yield* failedOver
      assert.deepStrictEqual(records.map((r) => r.model), ["broken", "steady"])
      const first = records[0]!
      assert.isAbove(first.promptTokens, 0, "the prompt the provider read")
      assert.strictEqual(first.completionTokens, 2)
      assert.strictEqual(first.costPicoUsd, computeCost(pricing, { promptTokens: first.promptTokens, completionTokens: 2, cachedTokens: 0 }))
      assert.strictEqual(answer.settledCostUsd?.(), (first.costPicoUsd + steadyCost) / 1e12)
      assert.deepStrictEqual(budget, { spent: BigInt(first.costPicoUsd + steadyCost), reserved: 0n })
    }).pipe(Effect.provide(costStack(models, provider({ reads: [{ batch: [opening, textChunk("Doomed")], failing: true }], then: "fail" }), { budgets }))))

  it.effect("control: nothing reported and none of the answer (a role-only opening, then the failure) costs nothing", () =>
    Effect.gen(function* () {
      const { answer, budget, records } = yield* failedOver
      assert.deepStrictEqual(records.map((r) => [r.model, r.costPicoUsd]), [["steady", steadyCost]])
      assert.strictEqual(answer.settledCostUsd?.(), steadyCost / 1e12)
      assert.deepStrictEqual(budget, { spent: BigInt(steadyCost), reserved: 0n })
    }).pipe(Effect.provide(costStack(models, provider({ reads: [{ batch: [opening] }], then: "fail" }), { budgets }))))

  const pulls = { count: 0 }
  it.effect("a client that leaves while the opening is held (after message_start) is charged the reported input, once, nothing left held", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const fiber = yield* Effect.fork(gateway.stream(ask("broken", "tell me a story", { stream: true }), requirements))
      // The opening was read and the next read is under way (held back: it carries none of the answer).
      for (let i = 0; i < 50 && pulls.count < 2; i++) yield* Effect.yieldNow()
      assert.strictEqual(pulls.count, 2)
      yield* Fiber.interrupt(fiber)
      const records = yield* untilSome(costRecords)
      const billed = computeCost(pricing, { promptTokens: 10_000, completionTokens: 1, cachedTokens: 8_000 })
      assert.deepStrictEqual(records.map((r) => [r.model, r.costPicoUsd]), [["broken", billed]])
      assert.deepStrictEqual(yield* daily, { spent: BigInt(billed), reserved: 0n })
    }).pipe(Effect.provide(costStack(models, provider({ reads: [{ batch: [opening] }], then: "hang", usage: reported }, pulls), { budgets }))))
})
