/**
 * A call the adapter did not send (its model was taken out while it waited
 * for a concurrency permit, `CallContext.stillWanted`) fails over at once,
 * but is no failure of the model: health does not count it (else every call
 * queued on a busy provider's permits adds a failure, and without probes the
 * model's retry backs off once per call never sent).
 */
import { assert, describe, it } from "@effect/vitest"
import type { AttemptError } from "../src/Failover.js"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Transport } from "@modelgate/domain/ProviderError"
import { Effect } from "effect"
import { model, setupFailover } from "./RoutingFixtures.js"

const a = model("a")
const b = model("b")

const notSent = new Transport({
  provider: "openai",
  model: "a",
  detail: "not sent: model a was marked unavailable while the call waited for a concurrency permit",
  unreachable: true,
  notSent: true
})

describe("Failover and calls not sent", () => {
  it.effect("a call not sent fails over without a health failure of its model", () =>
    Effect.gen(function*() {
      const { failover, health } = yield* setupFailover({ failover: { backoffBaseMs: 0, backoffCapMs: 0 } })
      const attempt = (m: ModelMetadata): Effect.Effect<string, AttemptError> =>
        m.id === "a" ? Effect.fail(notSent) : Effect.succeed(`answer from ${m.id}`)
      const out = yield* failover.run([a, b], attempt)
      assert.strictEqual(out.value, "answer from b")
      assert.strictEqual(out.failovers, 1)
      assert.deepStrictEqual(yield* health.reports, [{ model: "b", ok: true }], "only the call sent is reported")
    }))
})
