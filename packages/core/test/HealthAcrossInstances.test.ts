/**
 * Health across gateway instances on one database: a model one instance
 * finds unavailable (its own failed calls or probes) is set aside by the
 * others at their next sync (`healthCheck.syncIntervalMs`), instead of each
 * spending its own failed calls to learn it; a success of their own after
 * the mark says more than the mark; once the instance finds it working again
 * (or stops) the others serve it again. A missing key (one instance's own
 * configuration) is not shared.
 */
import { assert, describe, it } from "@effect/vitest"
import { MissingApiKey } from "@modelgate/domain/Errors"
import { Context, Effect, Exit, Layer, Redacted, Scope, TestClock } from "effect"
import { ApiKeys } from "../src/ApiKeys.js"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, HealthCheckConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import { HealthMarkStore, makeMemory as marksMemory } from "../src/HealthMarkStore.js"
import { InstanceId } from "../src/InstanceId.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import { Providers } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { makeEvents } from "./RoutingFixtures.js"
import { testModel } from "./TestModels.js"

const SECOND = 1_000
const gpt = testModel("gpt", { provider: "openai" })
const claude = testModel("claude", { provider: "anthropic" })

/** Passive health only (no probes): what each test reports is all each instance knows. */
const passive = new GatewayConfigData({ ...defaultConfig, healthCheck: HealthCheckConfig.make({ enabled: false }) })

/** One instance `id` on `marks`, syncing every second; `keys`: the providers it has a key for. */
const instance = (id: string, marks: HealthMarkStore["Type"], keys: ReadonlyArray<string> = ["openai", "anthropic"], scope?: Scope.Scope) =>
  Effect.gen(function* () {
    const events = yield* makeEvents
    const provider = (p: string) => ({
      id: p,
      requiresKey: true,
      chat: () => Effect.die("not used"),
      stream: () => Effect.die("not used"),
      probe: () => Effect.die("not probed")
    })
    const layer = HealthCheckerModule.layerWith({ defaultSyncIntervalMs: SECOND }).pipe(
      Layer.provide(
        Layer.mergeAll(
          GatewayConfig.layerStatic(passive),
          Layer.succeed(Events, events.service),
          RecordSink.layerMemory,
          ModelRegistry.layerMemory([gpt, claude]),
          Layer.succeed(Providers, Providers.fromList([provider("openai"), provider("anthropic")])),
          Layer.succeed(
            ApiKeys,
            ApiKeys.of({
              next: (p) =>
                keys.includes(p)
                  ? Effect.succeed({ id: `${p}#0`, value: Redacted.make("sk-test") })
                  : Effect.fail(new MissingApiKey({ provider: p, reason: "no key configured" })),
              hasKey: (p) => Effect.succeed(keys.includes(p)),
              setAside: () => Effect.void,
              status: Effect.succeed([]),
              validate: () => Effect.void
            })
          ),
          Layer.succeed(HealthMarkStore, marks),
          Layer.succeed(InstanceId, id)
        )
      )
    )
    const context = yield* (scope === undefined ? Layer.build(layer) : Layer.buildWithScope(layer, scope))
    const health = Context.get(context, HealthChecker)
    /** Three failed calls: unavailable here (the default threshold). */
    const failThrice = (model: string) => Effect.repeatN(health.reportFailure(model, "ServerError"), 2)
    const available = (model: string) => Effect.map(health.availability!([model]), ([a]) => a!.available)
    return { health, failThrice, available, events: events.all }
  })

describe("HealthChecker across instances", () => {
  it.scoped("a model one instance found unavailable is set aside by the other at its next sync, with the reason", () =>
    Effect.gen(function* () {
      const marks = yield* marksMemory
      const a = yield* instance("a", marks)
      const b = yield* instance("b", marks)
      yield* TestClock.adjust(SECOND)
      yield* a.failThrice("gpt")
      assert.isTrue(yield* b.available("gpt"))
      yield* TestClock.adjust(2 * SECOND)
      assert.isFalse(yield* b.available("gpt"))
      assert.isFalse(yield* b.health.isAvailable("gpt"))
      const status = yield* b.health.status("gpt")
      assert.strictEqual(status.status, "unavailable")
      assert.match(status.reason, /^unavailable on another instance: 3 consecutive failures/)
      // Only that model; B announces nothing (A did).
      assert.isTrue(yield* b.available("claude"))
      assert.deepStrictEqual((yield* b.events).filter((e) => e._tag === "HealthChanged"), [])
    }))

  it.scoped("a success of the instance's own after the mark says more: it serves the model", () =>
    Effect.gen(function* () {
      const marks = yield* marksMemory
      const a = yield* instance("a", marks)
      const b = yield* instance("b", marks)
      yield* a.failThrice("gpt")
      yield* TestClock.adjust(2 * SECOND)
      assert.isFalse(yield* b.available("gpt"))
      yield* TestClock.adjust(SECOND)
      yield* b.health.reportSuccess("gpt", 100)
      assert.isTrue(yield* b.available("gpt"))
    }))

  it.scoped("once the instance finds the model working again, or stops, the others serve it again", () =>
    Effect.gen(function* () {
      const marks = yield* marksMemory
      const scope = yield* Scope.make()
      const a = yield* instance("a", marks, undefined, scope)
      const b = yield* instance("b", marks)
      const c = yield* instance("c", marks)
      yield* a.failThrice("gpt")
      yield* a.failThrice("claude")
      yield* TestClock.adjust(2 * SECOND)
      assert.deepStrictEqual([yield* b.available("gpt"), yield* b.available("claude")], [false, false])
      yield* a.health.reportSuccess("gpt", 100)
      yield* TestClock.adjust(2 * SECOND)
      assert.deepStrictEqual([yield* b.available("gpt"), yield* b.available("claude")], [true, false])
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust(2 * SECOND)
      assert.deepStrictEqual([yield* c.available("gpt"), yield* c.available("claude")], [true, true])
    }))

  it.scoped("a model set aside for want of a key on one instance is not set aside on the others", () =>
    Effect.gen(function* () {
      const marks = yield* marksMemory
      const a = yield* instance("a", marks, ["openai"])
      const b = yield* instance("b", marks)
      yield* TestClock.adjust(3 * SECOND)
      assert.isFalse(yield* a.available("claude"))
      assert.isTrue(yield* b.available("claude"))
    }))
})
