/**
 * A provider key the provider refused (401 / 403, `Unauthorized`) is named by
 * its fingerprint beside its position, as every other text naming a key names
 * it (`KeyNamedByFingerprint.test.ts`): the refusal's own text ends up in the
 * key's set-aside reason (`/admin/keys`, the `MissingApiKey` a client gets),
 * in the failover's events and records, and is the client's 502 when it
 * reaches the client itself. Before the fix it said `(key openai#0)` only.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Unauthorized } from "@modelgate/domain/ProviderError"
import { Effect, Layer, Redacted, Stream, TestClock } from "effect"
import { createHash } from "node:crypto"
import * as ApiKeysModule from "../src/ApiKeys.js"
import { ApiKeys } from "../src/ApiKeys.js"
import { Events } from "../src/Events.js"
import * as Failover from "../src/Failover.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig, FailoverConfig, GatewayConfigData, HealthCheckConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as HealthCheckerModule from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import { type Provider, Providers } from "../src/Provider.js"
import * as RecordSink from "../src/RecordSink.js"
import { makeEvents, makeHealth, makeSink, model } from "./RoutingFixtures.js"
import { testModel } from "./TestModels.js"

const fingerprint = `openai~${createHash("sha256").update("sk-refused").digest("hex").slice(0, 16)}`

/** Whether every mention of the key's position `openai#0` in `text` has its fingerprint beside it. */
const namedWithFingerprint = (text: string) =>
  text.includes("openai#0") && text.split("openai#0").slice(1).every((after) => after.startsWith(` ${fingerprint}`) || after.startsWith(` (${fingerprint}`))

const refused = (m: ModelMetadata, keyId: string) =>
  new Unauthorized({ provider: m.provider, model: m.providerModel, detail: "invalid_api_key: Incorrect API key provided", status: 401, keyId })

describe("a provider key refused by the provider is named by its fingerprint", () => {
  it("an Unauthorized given the key's fingerprint names it beside the position", () => {
    const error = new Unauthorized({ provider: "openai", model: "gpt", detail: "x", status: 401, keyId: "openai#0", keyFingerprint: fingerprint })
    assert.isTrue(namedWithFingerprint(error.message), error.message)
  })

  it.effect("traffic: the refusal in the key's set-aside reason and in the client's error, the events and the records", () =>
    Effect.gen(function*() {
      const events = yield* makeEvents
      const sink = yield* makeSink
      const keys = yield* ApiKeysModule.make(new Map([["openai", [{ id: "openai#0", value: Redacted.make("sk-refused") }]]]))
      const failover = yield* Effect.scoped(Effect.provide(
        Failover.make,
        Layer.mergeAll(
          GatewayConfig.layerStatic(GatewayConfigData.make({
            ...defaultConfig,
            failover: FailoverConfig.make({ ...defaultConfig.failover, backoffBaseMs: 0, backoffCapMs: 0 })
          })),
          Layer.succeed(Events, events.service),
          Layer.succeed(RecordSink.RecordSink, sink.service),
          Layer.succeed(HealthChecker, (yield* makeHealth()).service),
          Layer.succeed(ApiKeys, keys)
        )
      ))
      const gpt = model("gpt")
      const claude = model("claude", { provider: "anthropic" })
      const attempt = (m: ModelMetadata) =>
        m.provider === "openai" ? Effect.flatMap(keys.next(m.provider), (key) => Effect.fail(refused(m, key.id))) : Effect.succeed("ok")
      yield* failover.run([gpt, claude], attempt)
      const error = yield* Effect.flip(failover.run([gpt], attempt))
      const reason = (yield* keys.status).find((p) => p.provider === "openai")?.setAside[0]?.reason ?? ""
      const failovers = (yield* events.all).flatMap((e) => e._tag === "Failover" ? [e.reason] : [])
      const records = (yield* sink.all).flatMap((r) => r._tag === "FailoverRecord" && r.to !== undefined ? [r.reason] : [])
      for (const [what, text] of [["set-aside reason", reason], ["client's error", error.message], ["Failover event", failovers[0] ?? ""], ["failover record", records[0] ?? ""]]) {
        assert.isTrue(namedWithFingerprint(text!), `${what}: ${text}`)
      }
    }))

  it.effect("probes: the refusal in the key's set-aside reason", () =>
    Effect.gen(function*() {
      const models = [testModel("gpt-a", { provider: "openai", providerModel: "gpt-a-v1" })]
      const openai: Provider = {
        id: "openai",
        requiresKey: true,
        chat: () => Effect.die("not used"),
        stream: () => Effect.die("not used"),
        probe: (m, key) => Effect.succeed({ ok: false, latencyMs: 3, error: refused(m, key!.id) })
      }
      const keys = yield* ApiKeysModule.make(new Map([["openai", [{ id: "openai#0", value: Redacted.make("sk-refused") }]]]))
      yield* Layer.build(HealthCheckerModule.layer.pipe(
        Layer.provide(Layer.mergeAll(
          GatewayConfig.layerStatic(new GatewayConfigData({ ...defaultConfig, healthCheck: HealthCheckConfig.make({ failureThreshold: 3 }) })),
          Layer.succeed(Events, { publish: () => Effect.void, subscribe: Stream.empty }),
          RecordSink.layerMemory,
          ModelRegistry.layerMemory(models),
          Layer.succeed(Providers, Providers.fromList([openai])),
          Layer.succeed(ApiKeys, keys)
        ))
      ))
      yield* Effect.repeatN(Effect.yieldNow(), 50)
      yield* TestClock.adjust(60_000)
      yield* Effect.repeatN(Effect.yieldNow(), 50)
      const reason = (yield* keys.status).find((p) => p.provider === "openai")?.setAside[0]?.reason ?? ""
      assert.isTrue(namedWithFingerprint(reason), reason)
    }).pipe(Effect.scoped))
})
