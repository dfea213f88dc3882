/**
 * Excessive-failover counts and the registry: a model the registry removes is
 * forgotten (a failover away from it that was in flight adds nothing), so the
 * same id added again starts with no count; a reload that keeps a model keeps
 * its count.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Timeout } from "@modelgate/domain/ProviderError"
import { Context, Effect, Layer } from "effect"
import { Events } from "../src/Events.js"
import * as FailoverModule from "../src/Failover.js"
import { Failover } from "../src/Failover.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, FailoverConfig, GatewayConfigData } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import { RecordSink } from "../src/RecordSink.js"
import { layerReloadableModels, ModelsFile } from "./ReloadableModels.js"
import { makeEvents, makeHealth, makeSink, model } from "./RoutingFixtures.js"

const a = model("a")
const b = model("b")

/** A runner whose models come from a reloadable registry; more than 2 failovers away from a model within 10 s alert. */
const setup = Effect.gen(function*() {
  const [health, events, sink] = [yield* makeHealth(), yield* makeEvents, yield* makeSink]
  const config = GatewayConfigData.make({
    ...defaultConfig,
    failover: FailoverConfig.make({ ...defaultConfig.failover, backoffBaseMs: 0, backoffCapMs: 0, excessiveThreshold: 2, excessiveWindowMs: 10_000 })
  })
  const context = yield* Layer.build(FailoverModule.layer.pipe(Layer.provideMerge(Layer.mergeAll(
    GatewayConfig.layerStatic(config),
    Layer.succeed(Events, events.service),
    Layer.succeed(RecordSink, sink.service),
    Layer.succeed(HealthChecker, health.service),
    layerReloadableModels([a, b])
  ))))
  const failover = Context.get(context, Failover)
  /** One request that fails over from a to b. */
  const awayFromA = failover.run([a, b], (m: ModelMetadata) =>
    m.id === "a" ? Effect.fail(new Timeout({ provider: "openai", model: "a", detail: "scripted", timeoutMs: 1_000 })) : Effect.succeed(m.id))
  const alerts = Effect.map(events.all, (all) => all.filter((e) => e._tag === "ExcessiveFailover").length)
  return { awayFromA, alerts, file: Context.get(context, ModelsFile) }
})

/** Let the runner's registry fiber run. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("Failover: models the registry removes", () => {
  it.scoped("a removed model's failovers are forgotten, a late one adds nothing: re-added, it starts with no count", () =>
    Effect.gen(function*() {
      const { alerts, awayFromA, file } = yield* setup
      yield* settle
      yield* awayFromA
      yield* awayFromA
      yield* file.apply([b])
      yield* settle
      // A request that was failing over when `a` was removed.
      yield* awayFromA
      yield* file.apply([a, b])
      yield* settle
      yield* awayFromA
      yield* awayFromA
      assert.strictEqual(yield* alerts, 0, "the re-added model was counted with failovers from before its removal")
    }))

  it.scoped("a reload that keeps a model (its price changed) keeps its count", () =>
    Effect.gen(function*() {
      const { alerts, awayFromA, file } = yield* setup
      yield* settle
      yield* awayFromA
      yield* awayFromA
      yield* file.apply([model("a", { pricing: { inputPerMillion: 2, outputPerMillion: 8 } }), b])
      yield* settle
      yield* awayFromA
      assert.strictEqual(yield* alerts, 1)
    }))
})
