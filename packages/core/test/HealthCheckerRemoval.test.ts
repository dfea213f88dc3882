/**
 * Health and the registry: a real call that was in flight when its model was
 * removed reports its outcome afterwards, and must not bring the model back
 * into `all` (what `/admin/health` and `/ready` list), whenever the removal
 * lands, even between the checker's look at the registry and its write. The
 * same id added again is listed and counted again.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import * as ApiKeys from "../src/ApiKeys.js"
import * as Events from "../src/Events.js"
import { GatewayConfig } from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, HealthCheckConfig } from "../src/GatewayConfigSchema.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import { HealthChecker } from "../src/HealthChecker.js"
import { Providers } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { idleProvider } from "./IdleProvider.js"
import { layerReloadableModels, ModelsFile } from "./ReloadableModels.js"
import { testModel } from "./TestModels.js"

const gpt = testModel("gpt")
const claude = testModel("claude", { providerModel: "claude-v1" })

/** Passive signals only (no probes), one failure makes a model unavailable. */
const config = new GatewayConfigData({ ...defaultConfig, healthCheck: HealthCheckConfig.make({ enabled: false, failureThreshold: 1 }) })

/** Runs `during` inside the next read of the configuration (once): where a report is between the registry and its write. */
class DuringNextRead extends Context.Tag("test/DuringNextRead")<DuringNextRead, (during: Effect.Effect<void>) => void>() {}

/** A fixed configuration whose reads can be hooked once (`DuringNextRead`). */
const configWithHook = Layer.effectContext(Effect.sync(() => {
  let during: Effect.Effect<void> | undefined
  const get = Effect.suspend(() => {
    const run = during
    during = undefined
    return run === undefined ? Effect.succeed(config) : Effect.as(run, config)
  })
  const service = GatewayConfig.of({ get, changes: Stream.concat(Stream.make(config), Stream.never), reload: Effect.succeed(config) })
  return Context.make(GatewayConfig, service).pipe(Context.add(DuringNextRead, (run) => void (during = run)))
}))

const testLayer = HealthCheckerModule.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(
    configWithHook,
    layerReloadableModels([gpt, claude]),
    RecordSink.layerMemory,
    Events.layer,
    Layer.succeed(Providers, Providers.fromList([idleProvider("openai")])),
    ApiKeys.layerStatic({})
  ))
)

/** Let the checker's registry fiber run. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

const listed = Effect.flatMap(HealthChecker, (h) => h.all).pipe(Effect.map((all) => all.map((h) => h.model).sort()))

describe("HealthChecker: a late report of a removed model", () => {
  it.effect("a failure reported after the removal lists nothing; the model added again is listed and counted again", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const file = yield* ModelsFile
      yield* settle
      assert.deepStrictEqual(yield* listed, ["claude", "gpt"])
      yield* file.apply([claude])
      yield* settle
      yield* health.reportFailure("gpt", "ServerError")
      yield* health.reportSuccess("gpt", 10)
      assert.deepStrictEqual(yield* listed, ["claude"])
      yield* file.apply([claude, gpt])
      yield* settle
      assert.strictEqual((yield* health.status("gpt")).status, "unknown")
      yield* health.reportFailure("gpt", "ServerError")
      assert.strictEqual((yield* health.status("gpt")).status, "unavailable")
    }).pipe(Effect.provide(testLayer)))

  it.effect("a removal that lands between the report's look at the registry and its write leaves no entry", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const file = yield* ModelsFile
      const duringNextRead = yield* DuringNextRead
      yield* settle
      duringNextRead(Effect.zipRight(Effect.asVoid(Effect.orDie(file.apply([claude]))), settle))
      yield* health.reportFailure("gpt", "ServerError")
      assert.deepStrictEqual(yield* listed, ["claude"], "the late report brought the removed model back")
    }).pipe(Effect.provide(testLayer)))
})
