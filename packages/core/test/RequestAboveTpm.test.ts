/**
 * A request that needs more tokens than a model's whole `tpm` never fits its
 * window, however long it waits: the model is ruled out by the request (as
 * a context window too small is), not rate limited with a time to retry.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Gateway } from "../src/Gateway.js"
import type { Provider } from "../src/Provider.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { testModel } from "./TestModels.js"

const provider: Provider = {
  id: "openai",
  requiresKey: false,
  chat: () => Effect.die("not called"),
  stream: () => Effect.die("not called"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

describe("a request above a model's tokens per minute", () => {
  it.scoped("is refused as the request's own (no retry time), not as rate limited", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      const refused = yield* Effect.flip(gateway.complete(ask("small", "hi", { max_tokens: 2_000 }), requirements))
      assert.strictEqual(refused._tag, "NoEligibleModel")
      if (refused._tag !== "NoEligibleModel") return
      assert.deepStrictEqual(refused.exclusions.map((e) => [e.model, e.kind]), [["small", "request"]])
      assert.include(refused.exclusions[0]!.reason, "more than its whole rate limit (tpm 1000)")
      assert.isUndefined(refused.retryAfterMs, "told to retry when the window empties, when it is refused again")
    }).pipe(Effect.provide(costStack([testModel("small", { rateLimits: { rpm: 100, tpm: 1_000 } })], provider))))
})
