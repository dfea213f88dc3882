/**
 * One revoked key among a provider's keys is the key's fault, not the
 * model's: probes answered 401 on that key must not make the provider's
 * models unavailable (traffic sets such a key aside and carries on).
 */
import { assert, describe, it } from "@effect/vitest"
import { Unauthorized } from "@modelgate/domain/ProviderError"
import { Effect, Layer, Redacted, Stream, TestClock } from "effect"
import * as ApiKeysModule from "../src/ApiKeys.js"
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

const models = ["gpt-a"].map((id) => testModel(id, { provider: "openai", providerModel: `${id}-v1` }))

const openai: Provider = {
  id: "openai",
  requiresKey: true,
  chat: () => Effect.die("not used"),
  stream: () => Effect.die("not used"),
  probe: (m, key) =>
    Effect.succeed(
      key?.id === "openai#1"
        ? { ok: false, latencyMs: 3, error: new Unauthorized({ provider: "openai", model: m.providerModel, detail: "invalid api key", status: 401, keyId: "openai#1" }) }
        : { ok: true, latencyMs: 3, error: undefined }
    )
}

const layer = Effect.gen(function* () {
  const keys = yield* ApiKeysModule.make(new Map([["openai", [
    { id: "openai#1", value: Redacted.make("sk-revoked") },
    { id: "openai#2", value: Redacted.make("sk-good") }
  ]]]))
  return keys
}).pipe(Layer.effect(ApiKeys), (keys) =>
  HealthCheckerModule.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(
      GatewayConfig.layerStatic(new GatewayConfigData({ ...defaultConfig, healthCheck: HealthCheckConfig.make({ failureThreshold: 3 }) })),
      Layer.succeed(Events, { publish: () => Effect.void, subscribe: Stream.empty }),
      RecordSink.layerMemory,
      ModelRegistry.layerMemory(models),
      Layer.succeed(Providers, Providers.fromList([openai])),
      keys
    ))
  ))

const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("HealthChecker: a probe answered 401 on one bad key", () => {
  it.effect("does not make the provider's models unavailable", () =>
    Effect.gen(function* () {
      const health = yield* HealthChecker
      const keys = yield* ApiKeys
      yield* settle
      const seen: Array<string> = []
      for (let i = 0; i < 4; i++) {
        // one request between probes takes the next key of the round robin (the good one)
        yield* keys.next("openai")
        yield* TestClock.adjust(60_000)
        yield* settle
        const h = yield* health.status("gpt-a")
        seen.push(`${h.status}: ${h.reason}`)
      }
      assert.isTrue(seen.every((s) => !s.startsWith("unavailable")), JSON.stringify(seen))
    }).pipe(Effect.provide(layer)))
})
