/**
 * A call its adapter did not send (its model was taken out while the call
 * waited for a concurrency permit: `CallContext.stillWanted`, a `Transport`
 * with `notSent`) says nothing of the model: no health failure (without
 * probes, each would push the model's retry back, doubling), and it stays
 * out of the model's performance figures (success rate, degradation alerts).
 */
import { assert, describe, it } from "@effect/vitest"
import { Transport } from "@modelgate/domain/ProviderError"
import { Effect, Option } from "effect"
import { Gateway } from "../src/Gateway.js"
import { HealthChecker } from "../src/HealthChecker.js"
import { PerformanceMonitor } from "../src/PerformanceMonitor.js"
import type { Provider } from "../src/Provider.js"
import { ask, costStack, requirements } from "./CostStack.js"
import { model } from "./RoutingFixtures.js"

const gpt = model("gpt-queued", { provider: "openai" })

/** A provider whose every call waited for a permit and found its model taken out (as `ProviderHttp` answers then). */
const notSending: Provider = {
  id: "openai",
  requiresKey: false,
  chat: (ctx) =>
    Effect.fail(
      new Transport({
        provider: "openai",
        model: ctx.model.id,
        detail: `not sent: model ${ctx.model.id} was marked unavailable while the call waited for a concurrency permit`,
        unreachable: true,
        notSent: true
      })
    ),
  stream: () => Effect.die("not called"),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

describe("A call not sent", () => {
  it.effect("is no failure of its model: not in its health, not in its performance figures", () =>
    Effect.gen(function* () {
      const gateway = yield* Gateway
      for (let i = 0; i < 3; i++) {
        const failed = yield* Effect.flip(gateway.complete(ask("gpt-queued", `question ${i}`), requirements))
        assert.include(failed.message, "not sent")
      }
      const health = yield* HealthChecker
      assert.deepStrictEqual((yield* health.history("gpt-queued")).filter((c) => !c.ok), [], "no failed check")
      assert.isTrue(yield* health.isAvailable("gpt-queued"))
      const performance = yield* (yield* PerformanceMonitor).modelPerformance("gpt-queued")
      assert.isTrue(Option.isNone(performance) || performance.value.successRate === 1, "not counted against its success rate")
    }).pipe(Effect.provide(costStack([gpt], notSending))))
})
