/**
 * Wherever the gateway names one provider key, it gives the key's
 * fingerprint (`openai~` + 16 hex digits of its SHA-256, as cost records and
 * `/admin/costs?by=key` name it) beside its position (`openai#1`), never the
 * key. A position depends on the order an instance read its keys in: two
 * instances on one database (or one instance across a reload) while keys are
 * rotated give the same key different positions, and the same position to
 * different keys, so an event or a 503 naming `openai#0` alone cannot be
 * matched to a key. Before the fix, the `RateLimited` / `WindowReset` events
 * of a key, the rate-limit records and the `MissingApiKey` reason named the
 * position only.
 */
import { assert, describe, it } from "@effect/vitest"
import type { GatewayEvent } from "@modelgate/domain/Events"
import { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { Context, Effect, Layer, TestClock } from "effect"
import { createHash } from "node:crypto"
import { ApiKeys, layerStatic } from "../src/ApiKeys.js"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import { RateLimiter, layer as rateLimiterLayer } from "../src/RateLimiter.js"
import { layerMemory as limiterStoreMemory } from "../src/RateLimiter/LimiterStore.js"
import * as RecordSink from "../src/RecordSink.js"
import { makeEvents } from "./RoutingFixtures.js"
import { testModel } from "./TestModels.js"

const fingerprintOf = (key: string) => `openai~${createHash("sha256").update(key).digest("hex").slice(0, 16)}`

const mini = testModel("mini")

/** The limiter over two "openai" keys (`sk-0`, `sk-1`), provided as the server provides it (GatewayLive.ts: ApiKeys under it). */
const limiterWithKeys = Effect.gen(function* () {
  const events = yield* makeEvents
  const context = yield* Layer.build(
    rateLimiterLayer.pipe(
      Layer.provideMerge(Layer.mergeAll(
        ModelRegistry.layerMemory([mini]),
        layerStatic({ openai: ["sk-0", "sk-1"] }),
        GatewayConfig.layerStatic(defaultConfig),
        Layer.succeed(Events, events.service),
        RecordSink.layerMemory,
        limiterStoreMemory
      ))
    )
  )
  return { events, limiter: Context.get(context, RateLimiter), keysOf: Context.get(context, ApiKeys).usableIds! }
})

describe("a provider key is named by its fingerprint beside its position", () => {
  it.scoped("RateLimited and WindowReset of a key name its fingerprint", () =>
    Effect.gen(function* () {
      const { events, keysOf, limiter } = yield* limiterWithKeys
      // The provider refuses the second key (`sk-1`, `openai#1`) for 2 s.
      yield* limiter.observe(mini, RateLimitInfo.make({ remainingRequests: 0, resetRequestsMs: 2_000 }), "openai#1", keysOf)
      yield* TestClock.adjust(2_500)
      yield* limiter.headroom(mini, 1, "openai#1")
      const onKey = (yield* events.all).flatMap((e: GatewayEvent) =>
        (e._tag === "RateLimited" || e._tag === "WindowReset") && e.keyId !== undefined ? [[e._tag, e.keyId, e.keyFingerprint]] : [])
      assert.deepStrictEqual(onKey, [
        ["RateLimited", "openai#1", fingerprintOf("sk-1")],
        ["WindowReset", "openai#1", fingerprintOf("sk-1")]
      ])
    }))

  it.effect("MissingApiKey names each key set aside by its position and its fingerprint, never the key", () =>
    Effect.gen(function* () {
      const keys = yield* ApiKeys
      yield* keys.setAside("openai", "openai#0", "401 Unauthorized")
      yield* keys.setAside("openai", "openai#1", "403 Forbidden")
      const error = yield* Effect.flip(keys.next("openai"))
      assert.include(
        error.reason,
        `all 2 key(s) set aside: openai#0 (${fingerprintOf("sk-first")}: 401 Unauthorized), openai#1 (${fingerprintOf("sk-second")}: 403 Forbidden)`
      )
      assert.notInclude(error.message, "sk-first")
      assert.notInclude(error.message, "sk-second")
    }).pipe(Effect.provide(layerStatic({ openai: ["sk-first", "sk-second"] }))))
})
