import { assert, describe, it } from "@effect/vitest"
import { MissingApiKey } from "@modelgate/domain/Errors"
import type { GatewayEvent } from "@modelgate/domain/Events"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { RateLimited, ServerError, Transport } from "@modelgate/domain/ProviderError"
import type { HealthCheckRecord } from "@modelgate/domain/Records"
import { Chunk, Clock, Context, Duration, Effect, Exit, Fiber, Layer, Redacted, Ref, Schedule, Scope, Stream, TestClock } from "effect"
import { ApiKeys } from "../src/ApiKeys.js"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, HealthCheckConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import { type Provider, Providers } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { testModel } from "./TestModels.js"

const model = (id: string, provider: string) => testModel(id, { provider, providerModel: `${id}-v1`, qualityScore: 0.8 })

const gpt = model("gpt", "openai")
const claude = model("claude", "anthropic")
const llama = model("llama", "ollama")

/** How the fake answers probes of each model; `calls` logs every probe. */
type Behaviour = "ok" | "fail" | "hang" | "rate-limited" | "refused"
class Fake extends Context.Tag("test/Fake")<
  Fake,
  {
    readonly behaviour: Map<string, Behaviour>
    readonly calls: Array<{ readonly model: string; readonly at: number; readonly keyId: string | undefined }>
  }
>() {}

const fakeProvider = (id: string, requiresKey: boolean, fake: Fake["Type"]): Provider => ({
  id,
  requiresKey,
  chat: () => Effect.die("not used"),
  stream: () => Effect.die("not used"),
  probe: (m, key) =>
    Effect.gen(function* () {
      const at = yield* Clock.currentTimeMillis
      fake.calls.push({ model: m.id, at, keyId: key?.id })
      const common = { provider: id, model: m.providerModel, detail: "scripted" }
      switch (fake.behaviour.get(m.id) ?? "ok") {
        case "ok":
          return { ok: true, latencyMs: 42, error: undefined }
        case "fail":
          return { ok: false, latencyMs: 5, error: new ServerError({ ...common, status: 500 }) }
        case "rate-limited":
          return { ok: false, latencyMs: 5, error: new RateLimited({ ...common, status: 429 }) }
        case "refused":
          return { ok: false, latencyMs: 1, error: new Transport({ ...common, detail: "connect ECONNREFUSED 127.0.0.1:11434", unreachable: true }) }
        case "hang":
          return yield* Effect.never
      }
    })
})

/** Keys for openai only; anthropic has none; ollama needs none. */
const apiKeys = ApiKeys.of({
  next: (provider) =>
    provider === "openai"
      ? Effect.succeed({ id: "openai#1", value: Redacted.make("sk-test") })
      : Effect.fail(new MissingApiKey({ provider, reason: "no key configured" })),
  hasKey: (provider) => Effect.succeed(provider === "openai"),
  setAside: () => Effect.void,
  status: Effect.succeed([]),
  validate: () => Effect.void
})

class Published extends Context.Tag("test/Published")<Published, Ref.Ref<ReadonlyArray<GatewayEvent>>>() {}
const recordingEvents = Layer.effectContext(
  Effect.map(Ref.make<ReadonlyArray<GatewayEvent>>([]), (ref) =>
    Context.make(Events, { publish: (e) => Ref.update(ref, (all) => [...all, e]), subscribe: Stream.empty }).pipe(
      Context.add(Published, ref)
    )
  )
)

const config = (health: Partial<HealthCheckConfig> = {}) =>
  new GatewayConfigData({ ...defaultConfig, healthCheck: HealthCheckConfig.make({ ...health }) })

const testLayer = (models: ReadonlyArray<ModelMetadata>, cfg = config(), behaviour: Record<string, Behaviour> = {}) => {
  const fake: Fake["Type"] = { behaviour: new Map(Object.entries(behaviour)), calls: [] }
  const deps = Layer.mergeAll(
    GatewayConfig.layerStatic(cfg),
    recordingEvents,
    RecordSink.layerMemory,
    ModelRegistry.layerMemory(models),
    Layer.succeed(Providers, Providers.fromList([fakeProvider("openai", true, fake), fakeProvider("anthropic", true, fake), fakeProvider("ollama", false, fake)])),
    Layer.succeed(ApiKeys, apiKeys),
    Layer.succeed(Fake, fake)
  )
  return HealthCheckerModule.layer.pipe(Layer.provideMerge(deps))
}

/** Let forked fibers run without moving the clock. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)
const advance = (ms: number) => Effect.zipRight(TestClock.adjust(ms), settle)
const probeTimes = (id: string) => Effect.map(Fake, (f) => f.calls.filter((c) => c.model === id).map((c) => c.at))
const healthEvents = Effect.flatMap(Published, Ref.get).pipe(
  Effect.map((all) => all.flatMap((e) => (e._tag === "HealthChanged" ? [[e.model, e.from, e.to, e.at] as const] : [])))
)
const healthRecords = Effect.flatMap(RecordSink.MemoryRecords, (m) => m.all).pipe(
  Effect.map((all) => all.filter((r): r is HealthCheckRecord => r._tag === "HealthCheckRecord"))
)

describe("HealthChecker", () => {
  it.effect("probes every model at once, then every interval, with the provider's key, and records each check", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* advance(150_000)
      assert.deepStrictEqual(yield* probeTimes("gpt"), [0, 60_000, 120_000])
      assert.deepStrictEqual(yield* probeTimes("llama"), [0, 60_000, 120_000])
      const fake = yield* Fake
      assert.deepStrictEqual([...new Set(fake.calls.map((c) => `${c.model}:${c.keyId}`))].sort(), ["gpt:openai#1", "llama:undefined"])
      const gptHealth = yield* health.status("gpt")
      assert.strictEqual(gptHealth.status, "available")
      assert.strictEqual(gptHealth.lastCheckedAt, 120_000)
      assert.strictEqual(gptHealth.lastLatencyMs, 42)
      const records = (yield* healthRecords).filter((r) => r.model === "gpt")
      assert.deepStrictEqual(records.map((r) => [r.at, r.ok, r.source]), [
        [0, true, "probe"],
        [60_000, true, "probe"],
        [120_000, true, "probe"]
      ])
      assert.lengthOf(yield* health.history("gpt"), 3)
    }).pipe(Effect.provide(testLayer([gpt, llama]))))

  it.effect("a model is unavailable after failureThreshold consecutive failures, with an event", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* advance(60_000)
      let h = yield* health.status("gpt")
      assert.deepStrictEqual([h.status, h.consecutiveFailures], ["unknown", 2])
      assert.isTrue(yield* health.isAvailable("gpt"))
      assert.deepStrictEqual(yield* healthEvents, [])
      yield* advance(60_000)
      h = yield* health.status("gpt")
      assert.deepStrictEqual([h.status, h.consecutiveFailures], ["unavailable", 3])
      assert.include(h.reason, "ServerError")
      assert.isFalse(yield* health.isAvailable("gpt"))
      assert.deepStrictEqual(yield* healthEvents, [["gpt", "unknown", "unavailable", 120_000]])
      const failed = (yield* healthRecords).filter((r) => !r.ok)
      assert.deepStrictEqual(failed.map((r) => r.errorClass), ["ServerError", "ServerError", "ServerError"])
    }).pipe(Effect.provide(testLayer([gpt], config(), { gpt: "fail" }))))

  it.effect("one refused probe makes a model unavailable at once, naming the address; a first 5xx does not", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const fake = yield* Fake
      yield* settle
      const llama = yield* health.status("llama")
      assert.deepStrictEqual([llama.status, llama.consecutiveFailures, llama.nextProbeAt], ["unavailable", 1, 60_000])
      assert.include(llama.reason, "unreachable")
      assert.include(llama.reason, "ECONNREFUSED 127.0.0.1:11434")
      assert.deepStrictEqual(yield* healthEvents, [["llama", "unknown", "unavailable", 0]])
      // the same first failure, without `unreachable`, waits for the threshold
      assert.deepStrictEqual([(yield* health.status("gpt")).status, (yield* health.status("gpt")).consecutiveFailures], ["unknown", 1])
      // a started server answers the next probe (after the interval, then the backoff as for any unavailable model)
      fake.behaviour.set("llama", "ok")
      yield* advance(60_000)
      assert.strictEqual((yield* health.status("llama")).status, "available")
    }).pipe(Effect.provide(testLayer([gpt, llama], config(), { gpt: "fail", llama: "refused" }))))

  // An unavailable model (refused at start) whose next probe fails again: still out, its reason says what failed.
  for (const [next, named] of [["refused", "ECONNREFUSED 127.0.0.1:11434"], ["fail", "ServerError"]] as const) {
    it.effect(`an unavailable model whose next probe is ${next} names ${named}, not a threshold it is short of`, () =>
      Effect.gen(function* () {
        const health = yield* HealthChecker
        const fake = yield* Fake
        yield* settle
        fake.behaviour.set("llama", next)
        yield* advance(60_000)
        const llama = yield* health.status("llama")
        assert.deepStrictEqual([llama.status, llama.consecutiveFailures], ["unavailable", 2])
        assert.include(llama.reason, named)
        assert.notInclude(llama.reason, "before unavailable")
      }).pipe(Effect.provide(testLayer([llama], config(), { llama: "refused" }))))
  }

  it.effect("a model that answered before keeps the threshold when a probe is refused (a restart)", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const fake = yield* Fake
      yield* settle
      assert.strictEqual((yield* health.status("llama")).status, "available")
      fake.behaviour.set("llama", "refused")
      yield* advance(60_000)
      const h = yield* health.status("llama")
      assert.deepStrictEqual([h.status, h.consecutiveFailures], ["available", 1])
      yield* advance(120_000)
      assert.strictEqual((yield* health.status("llama")).status, "unavailable")
    }).pipe(Effect.provide(testLayer([llama]))))

  it.effect("a model whose connections stay refused is probed on the backoff", () =>
    Effect.gen(function* () {
      yield* settle
      yield* advance(17_500)
      assert.deepStrictEqual(yield* probeTimes("llama"), [0, 1_000, 3_000, 7_000, 12_000, 17_000])
    }).pipe(
      Effect.provide(testLayer([llama], config({ intervalMs: 1_000, backoffCapMs: 5_000 }), { llama: "refused" }))
    ))

  it.effect("probes of an unavailable model back off exponentially up to the cap; one success restores it", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const fake = yield* Fake
      yield* settle
      yield* advance(17_500)
      // unavailable after the first failure: 1 s, 2 s, 4 s, then capped at 5 s
      assert.deepStrictEqual(yield* probeTimes("gpt"), [0, 1_000, 3_000, 7_000, 12_000, 17_000])
      fake.behaviour.set("gpt", "ok")
      yield* advance(4_500)
      assert.deepStrictEqual((yield* probeTimes("gpt")).slice(6), [22_000])
      assert.strictEqual((yield* health.status("gpt")).status, "available")
      assert.deepStrictEqual(yield* healthEvents, [
        ["gpt", "unknown", "unavailable", 0],
        ["gpt", "unavailable", "available", 22_000]
      ])
      yield* advance(2_000)
      assert.deepStrictEqual((yield* probeTimes("gpt")).slice(6), [22_000, 23_000, 24_000])
    }).pipe(
      Effect.provide(testLayer([gpt], config({ intervalMs: 1_000, backoffCapMs: 5_000, failureThreshold: 1 }), { gpt: "fail" }))
    ))

  it.effect("availability tells when the next probe may bring an unavailable model back", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const fake = yield* Fake
      const read = Effect.suspend(() => health.availability!(["gpt", "claude", "llama"])).pipe(
        Effect.map((all) => all.map((a) => [a.available, a.retryAfterMs]))
      )
      yield* settle
      // the first probe failed: unavailable, next probe after the interval (1 s)
      assert.deepStrictEqual(yield* read, [[false, 1_000], [false, undefined], [true, undefined]])
      yield* advance(400)
      assert.deepStrictEqual((yield* read)[0], [false, 600])
      yield* advance(600)
      // the probe at 1 s failed too: the backoff doubles
      assert.deepStrictEqual((yield* read)[0], [false, 2_000])
      // the same time, as status reports it (GET /admin/health)
      assert.strictEqual((yield* health.status("gpt")).nextProbeAt, 3_000)
      fake.behaviour.set("gpt", "ok")
      yield* advance(2_000)
      assert.deepStrictEqual((yield* read)[0], [true, undefined])
    }).pipe(
      Effect.provide(testLayer([gpt, claude, llama], config({ intervalMs: 1_000, backoffCapMs: 5_000, failureThreshold: 1 }), { gpt: "fail" }))
    ))

  it.effect("probeBackoff doubles from the interval and stops at the cap", () =>
    Effect.gen(function* () {
      const schedule = Schedule.delays(HealthCheckerModule.probeBackoff({ intervalMs: 60_000, backoffCapMs: 600_000 }))
      const delays = yield* Schedule.run(schedule, 0, [1, 2, 3, 4, 5, 6, 7])
      assert.deepStrictEqual(Chunk.toArray(delays).map(Duration.toMillis), [60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000])
    }))

  it.effect("probeBackoff never probes a model that is down more often than intervalMs, whatever the cap", () =>
    Effect.gen(function* () {
      const schedule = Schedule.delays(HealthCheckerModule.probeBackoff({ intervalMs: 900_000, backoffCapMs: 600_000 }))
      const delays = yield* Schedule.run(schedule, 0, [1, 2, 3])
      assert.deepStrictEqual(Chunk.toArray(delays).map(Duration.toMillis), [900_000, 900_000, 900_000])
    }))

  it.effect("real traffic failures of health classes count; others do not; a real success resets", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* advance(1_000)
      yield* health.reportFailure("gpt", "BadRequest")
      yield* health.reportFailure("gpt", "ContextLengthExceeded")
      assert.strictEqual((yield* health.status("gpt")).consecutiveFailures, 0)
      yield* health.reportFailure("gpt", "Timeout")
      yield* health.reportFailure("gpt", "Overloaded")
      assert.isTrue(yield* health.isAvailable("gpt"))
      yield* health.reportFailure("gpt", "Transport")
      assert.isFalse(yield* health.isAvailable("gpt"))
      assert.deepStrictEqual(yield* healthEvents, [["gpt", "available", "unavailable", 1_000]])
      yield* health.reportSuccess("gpt", 250)
      const h = yield* health.status("gpt")
      assert.deepStrictEqual([h.status, h.consecutiveFailures, h.lastLatencyMs], ["available", 0, 250])
      const traffic = (yield* healthRecords).filter((r) => r.source === "traffic")
      assert.deepStrictEqual(traffic.map((r) => [r.ok, r.errorClass]), [
        [false, "Timeout"],
        [false, "Overloaded"],
        [false, "Transport"],
        [true, undefined]
      ])
      // a success on a healthy model is not worth a record
      yield* health.reportSuccess("gpt", 100)
      assert.lengthOf((yield* healthRecords).filter((r) => r.source === "traffic"), 4)
    }).pipe(Effect.provide(testLayer([gpt]))))

  it.effect("models whose provider has no usable key are unavailable with that reason and never probed", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* advance(120_000)
      const h = yield* health.status("claude")
      assert.strictEqual(h.status, "unavailable")
      // the reason is ApiKeys' own, which names the variables to set
      assert.match(h.reason, /^no usable API key for anthropic: /)
      assert.isTrue(h.blocked)
      assert.deepStrictEqual(yield* probeTimes("claude"), [])
      assert.isTrue(yield* health.isAvailable("llama"))
      assert.deepStrictEqual(
        (yield* health.all).map((x) => [x.model, x.status]).sort(),
        [
          ["claude", "unavailable"],
          ["llama", "available"]
        ]
      )
    }).pipe(Effect.provide(testLayer([claude, llama]))))

  it.effect("a probe that outlives timeoutMs is a Timeout failure; a 429 moves nothing", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* advance(5_000)
      const h = yield* health.status("gpt")
      assert.deepStrictEqual([h.consecutiveFailures, h.lastLatencyMs], [1, 5_000])
      assert.deepStrictEqual((yield* health.history("gpt")).map((r) => r.errorClass), ["Timeout"])
      assert.deepStrictEqual((yield* health.status("llama")).consecutiveFailures, 0)
      assert.deepStrictEqual((yield* health.history("llama")).map((r) => r.errorClass), ["RateLimited"])
    }).pipe(Effect.provide(testLayer([gpt, llama], config({ timeoutMs: 5_000 }), { gpt: "hang", llama: "rate-limited" }))))

  it.effect("keeps only the last historySize checks per model", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* advance(80_000)
      const history = yield* health.history("gpt")
      assert.lengthOf(history, HealthCheckerModule.historySize)
      assert.strictEqual(history.at(-1)!.at, 80_000)
      assert.strictEqual(history[0]!.at, 31_000)
    }).pipe(Effect.provide(testLayer([gpt], config({ intervalMs: 1_000 })))))

  it.effect("with health checks disabled there are no probes, passive signals still count", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      yield* settle
      yield* advance(600_000)
      assert.deepStrictEqual(yield* probeTimes("gpt"), [])
      assert.strictEqual((yield* health.status("claude")).status, "unavailable")
      for (let i = 0; i < 3; i++) yield* health.reportFailure("gpt", "ServerError")
      assert.isFalse(yield* health.isAvailable("gpt"))
    }).pipe(Effect.provide(testLayer([gpt, claude], config({ enabled: false })))))

  it.effect("with health checks disabled, a model real calls took out is let through again after the interval, then twice as long each time", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const availability = health.availability!
      const gptNow = Effect.map(availability(["gpt"]), ([a]) => ({ available: a!.available, retryAfterMs: a!.retryAfterMs }))
      yield* settle
      for (let i = 0; i < 3; i++) yield* health.reportFailure("gpt", "ServerError")
      // No probe will bring it back: the next real call is its check, once the interval has passed.
      assert.deepStrictEqual(yield* gptNow, { available: false, retryAfterMs: 60_000 })
      yield* advance(59_999)
      assert.deepStrictEqual(yield* gptNow, { available: false, retryAfterMs: 1 })
      yield* advance(1)
      assert.isTrue((yield* gptNow).available, "a call may try it again")
      health.claimTrial!("gpt") // a request calls it first
      assert.deepStrictEqual(yield* gptNow, { available: false, retryAfterMs: 1_000 }, "one call: the others skip it meanwhile")
      // That call fails: out again, for twice as long.
      yield* health.reportFailure("gpt", "ServerError")
      assert.deepStrictEqual(yield* gptNow, { available: false, retryAfterMs: 120_000 })
      yield* advance(120_000)
      assert.isTrue((yield* gptNow).available)
      // This one succeeds: available, as after a probe.
      yield* health.reportSuccess("gpt", 10)
      assert.strictEqual((yield* health.status("gpt")).status, "available")
      assert.deepStrictEqual([yield* gptNow, yield* gptNow], [{ available: true, retryAfterMs: undefined }, { available: true, retryAfterMs: undefined }], "every call may go to it again")
      assert.deepStrictEqual(yield* probeTimes("gpt"), [])
    }).pipe(Effect.provide(testLayer([gpt], config({ enabled: false, intervalMs: 60_000 })))))

  it.effect("streams status changes", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(health.changes, 2)))
      yield* settle
      for (let i = 0; i < 3; i++) yield* health.reportFailure("gpt", "ServerError")
      yield* health.reportSuccess("gpt", 10)
      const changes = Chunk.toArray(yield* Fiber.join(collected))
      assert.deepStrictEqual(changes.map((h) => [h.model, h.status]), [
        ["gpt", "unavailable"],
        ["gpt", "available"]
      ])
    }).pipe(Effect.provide(testLayer([gpt], config({ enabled: false })))))

  it.effect("stops probing a model the registry disables, and all probes when the scope closes", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(testLayer([gpt, llama], config({ intervalMs: 1_000 })), scope)
      const registry = Context.get(context, ModelRegistry.ModelRegistry)
      const fake = Context.get(context, Fake)
      const count = (id: string) => fake.calls.filter((c) => c.model === id).length
      yield* settle
      yield* advance(2_000)
      assert.deepStrictEqual([count("gpt"), count("llama")], [3, 3])
      yield* registry.update("llama", { enabled: false })
      yield* settle
      yield* advance(2_000)
      assert.deepStrictEqual([count("gpt"), count("llama")], [5, 3])
      yield* Scope.close(scope, Exit.void)
      yield* advance(60_000)
      assert.deepStrictEqual([count("gpt"), count("llama")], [5, 3])
    }))
})
