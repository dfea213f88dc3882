/**
 * `Gateway.failureMeta`: what a request that failed had done once it tried a
 * model (the last model tried, the failovers made, what it was charged in
 * all, exactly its cost records' sum), for the HTTP server's error answer;
 * nothing for a request that failed before trying any.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Usage } from "@modelgate/domain/Chat"
import { BadRequest, MalformedResponse, ServerError } from "@modelgate/domain/ProviderError"
import { toUsd } from "@modelgate/domain/Money"
import { Effect } from "effect"
import { Gateway } from "../src/Gateway.js"
import type { Provider } from "../src/Provider.js"
import { ask, costRecords, costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const pricing = { inputPerMillion: 0.3, outputPerMillion: 2.5 }
const billed: Usage = { prompt_tokens: 5_000, completion_tokens: 340, total_tokens: 5_340 }

/** "malformed*" answer whole but unusably (billed), "down" fails with no answer, "refuses" answers a 400. */
const failure = (id: string) =>
  id.startsWith("malformed")
    ? new MalformedResponse({ provider: "google", model: id, status: 200, detail: "unusable finishReason MALFORMED_FUNCTION_CALL", usage: billed })
    : id === "refuses"
    ? new BadRequest({ provider: "google", model: id, status: 400, detail: "scripted" })
    : new ServerError({ provider: "google", model: id, status: 500, detail: "scripted" })

const provider: Provider = {
  id: "google",
  requiresKey: false,
  chat: (ctx) => Effect.fail(failure(ctx.model.id)),
  stream: (ctx) => Effect.fail(failure(ctx.model.id)),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

const models = [
  model("malformed", { provider: "google", pricing, qualityScore: 0.99, fallbacks: ["malformed-too", "down"] }),
  model("malformed-too", { provider: "google", pricing, qualityScore: 0.9 }),
  model("down", { provider: "google", pricing, qualityScore: 0.8, fallbacks: ["refuses"] }),
  model("refuses", { provider: "google", pricing, qualityScore: 0.5 })
]

/** The request's failure and what the gateway kept of it. */
const failed = <A, E extends object>(run: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const gateway = yield* Gateway
    const error = yield* Effect.flip(run)
    return { error, meta: gateway.failureMeta?.(error as never) }
  })

describe("Gateway.failureMeta", () => {
  it.effect("after two billed failures and a third failure: the last model, 2 failovers, both bills once (the cost records' sum)", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const { error, meta } = yield* failed(gateway.complete(ask("malformed"), requirements, { requestId: "r-complete" }))
      assert.strictEqual(error._tag, "AllCandidatesFailed")
      const records = yield* costRecords
      assert.deepStrictEqual(records.map((r) => r.model), ["malformed", "malformed-too"])
      const charged = records.reduce((sum, r) => sum + r.costPicoUsd, 0)
      assert.isAbove(charged, 0)
      assert.deepStrictEqual(meta, { requestId: "r-complete", model: "down", provider: "google", failovers: 2, costUsd: toUsd(charged) })
    }).pipe(Effect.provide(costStack(models, provider))))

  it.effect("a stream failing before its first chunk: the same", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const { meta } = yield* failed(gateway.stream(ask("malformed", "hi", { stream: true }), requirements, { requestId: "r-stream" }))
      const charged = (yield* costRecords).reduce((sum, r) => sum + r.costPicoUsd, 0)
      assert.deepStrictEqual(meta, { requestId: "r-stream", model: "down", provider: "google", failovers: 2, costUsd: toUsd(charged) })
    }).pipe(Effect.provide(costStack(models, provider))))

  it.effect("a provider's 400 after a failover: the model that refused, 1 failover, nothing charged", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const { error, meta } = yield* failed(gateway.complete(ask("down"), requirements, { requestId: "r-400" }))
      assert.strictEqual(error._tag, "BadRequest")
      assert.deepStrictEqual(meta, { requestId: "r-400", model: "refuses", provider: "google", failovers: 1, costUsd: 0 })
    }).pipe(Effect.provide(costStack(models, provider))))

  it.effect("no model tried (an unknown model): nothing", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const { error, meta } = yield* failed(gateway.complete(ask("no-such-model"), requirements, { requestId: "r-404" }))
      assert.strictEqual(error._tag, "ModelNotFound")
      assert.isUndefined(meta)
    }).pipe(Effect.provide(costStack(models, provider))))
})
