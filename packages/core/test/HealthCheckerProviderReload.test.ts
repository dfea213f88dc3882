/**
 * A reload that changes a provider's section (`providers.<id>`: its baseUrl,
 * timeout, retries): the health of that provider's models was learnt at the
 * old endpoint, so each is probed again at once (its backoff starts over); a
 * reload that leaves the provider as it was probes nothing early.
 */
import { assert, describe, it } from "@effect/vitest"
import { Transport } from "@modelgate/domain/ProviderError"
import { Clock, Context, Effect, Layer, TestClock } from "effect"
import { ApiKeys } from "../src/ApiKeys.js"
import * as Events from "../src/Events.js"
import { GatewayConfig } from "../src/GatewayConfig.js"
import { defaultConfig, GatewayConfigData, ProviderConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import { type Provider, Providers } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { ConfigFiles, layerReloadable } from "./ReloadableConfig.js"
import { noKeys } from "./KeylessApiKeys.js"
import { testModel } from "./TestModels.js"

const llama = testModel("llama", { provider: "ollama", providerModel: "llama-v1" })

/** Where the (fake) Ollama server listens. */
const listening = "http://127.0.0.1:11434"

/** The configuration with Ollama at `baseUrl` (and `logLevel`, to make a change elsewhere). */
const withOllama = (baseUrl: string, logLevel: "info" | "debug" = "info") =>
  new GatewayConfigData({ ...defaultConfig, logLevel, providers: { ...defaultConfig.providers, ollama: ProviderConfig.make({ baseUrl }) } })

/** The times of every probe. */
class Probes extends Context.Tag("test/Probes")<Probes, Array<number>>() {}

/** An Ollama double that reads its endpoint from the running config on each probe, as the adapters do. */
const ollama = Layer.effect(
  Providers,
  Effect.gen(function* () {
    const config = yield* GatewayConfig
    const probes = yield* Probes
    const provider: Provider = {
      id: "ollama",
      requiresKey: false,
      chat: () => Effect.die("not used"),
      stream: () => Effect.die("not used"),
      probe: (m) =>
        Effect.gen(function* () {
          probes.push(yield* Clock.currentTimeMillis)
          const baseUrl = (yield* config.get).providers["ollama"]!.baseUrl
          if (baseUrl === listening) return { ok: true, latencyMs: 3, error: undefined }
          const detail = `connect ECONNREFUSED ${baseUrl}`
          return { ok: false, latencyMs: 1, error: new Transport({ provider: "ollama", model: m.providerModel, detail, unreachable: true }) }
        })
    }
    return Providers.fromList([provider])
  })
)

const testLayer = (initial: GatewayConfigData) =>
  HealthCheckerModule.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(ollama, ModelRegistry.layerMemory([llama]), RecordSink.layerMemory, Layer.succeed(ApiKeys, noKeys))),
    Layer.provideMerge(layerReloadable(initial)),
    Layer.provideMerge(Layer.mergeAll(Events.layer, Layer.sync(Probes, () => [])))
  )

/** Let forked fibers run without moving the clock. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("HealthChecker: a reload that changes a provider", () => {
  it.effect("a fixed baseUrl: the provider's unavailable model is probed at once and available again, not at its next backoff", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const files = yield* ConfigFiles
      const probes = yield* Probes
      yield* settle
      // Refused at the mistyped port: unavailable, probed on the backoff (0, 60 s, 180 s, then 420 s).
      yield* TestClock.adjust("200 seconds")
      yield* settle
      assert.deepStrictEqual(probes, [0, 60_000, 180_000])
      assert.strictEqual((yield* health.status("llama")).status, "unavailable")
      yield* files.apply(withOllama(listening))
      yield* settle
      assert.deepStrictEqual(probes, [0, 60_000, 180_000, 200_000])
      const h = yield* health.status("llama")
      assert.strictEqual(h.status, "available", h.reason)
      assert.strictEqual(h.nextProbeAt, 260_000)
    }).pipe(Effect.provide(testLayer(withOllama("http://127.0.0.1:11435")))))

  it.effect("a reload that leaves the provider as it was probes nothing early", () =>
    Effect.gen(function* () {
      const files = yield* ConfigFiles
      const probes = yield* Probes
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* files.apply(withOllama(listening, "debug"))
      yield* settle
      assert.deepStrictEqual(probes, [0])
      yield* TestClock.adjust("50 seconds")
      yield* settle
      assert.deepStrictEqual(probes, [0, 60_000])
    }).pipe(Effect.provide(testLayer(withOllama(listening)))))
})
