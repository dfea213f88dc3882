/**
 * A host's ModelOptimizer under GatewayLive hears every selection
 * (`ModelOptimizer.ts`: the ModelSelector hands it every ranking and every
 * selection, `onSelected`), not only `ModelSelector.select` calls the
 * gateway never makes: each answered request, complete or streamed, is one
 * `onSelected` naming the model that served it, as its `ModelSelected` event.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import * as ModelOptimizer from "@modelgate/core/ModelOptimizer"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect, Layer, Ref, Stream } from "effect"
import { ask, stack } from "./fixture.js"

describe("a host's ModelOptimizer under GatewayLive", () => {
  it.scopedLive("hears onSelected once per answer, naming the model that served it", () =>
    Effect.gen(function* () {
      const s = yield* stack({ gateway: { cache: { enabled: false } } })
      const heard = yield* Ref.make<ReadonlyArray<string>>([])
      const note = (line: string) => Ref.update(heard, (all) => [...all, line])
      const optimizer = ModelOptimizer.layer({
        onSelected: (input, selected) => note(`selected ${selected.model.id} for ${input.requestId}`),
        onFeedback: (f) => note(`feedback ${f.model} ${f.success ? "ok" : f.errorTag}`)
      })
      const ids = yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const first = yield* gateway.complete(ask("hello there"), defaultRequirements)
        const streamed = yield* gateway.stream(ask("hello again", "gpt-4o-mini", { stream: true }), defaultRequirements)
        yield* Stream.runDrain(streamed.chunks)
        yield* s.openai.persist(Fault.status(500))
        const failedOver = yield* gateway.complete(ask("hello once more"), defaultRequirements)
        assert.strictEqual(failedOver.meta.model, "claude-haiku")
        return [first.meta.requestId, streamed.meta.requestId, failedOver.meta.requestId]
      }).pipe(Effect.provide(s.layer.pipe(Layer.provide(optimizer))))
      const all = yield* Ref.get(heard)
      // The optimizer is in place: Failover hands it every attempt.
      assert.isTrue(all.includes("feedback gpt-4o-mini ok"), JSON.stringify(all))
      const selections = all.filter((line) => line.startsWith("selected"))
      assert.deepStrictEqual(selections, [
        `selected gpt-4o-mini for ${ids[0]}`,
        `selected gpt-4o-mini for ${ids[1]}`,
        `selected claude-haiku for ${ids[2]}`
      ])
    }))
})
