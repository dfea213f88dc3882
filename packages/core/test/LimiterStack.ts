/**
 * The real rate limiter on a given store, with ApiKeys and the registry, for
 * the tests of keys, shared stores and the selector over them; health and
 * events are doubles (`RoutingFixtures.ts`), the events recorded.
 */
import type { ModelMetadata } from "@modelgate/domain/Model"
import { Context, Effect, Layer } from "effect"
import * as ApiKeys from "../src/ApiKeys.js"
import { Events } from "../src/Events.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import { defaultConfig } from "../src/GatewayConfigSchema.js"
import { HealthChecker } from "../src/HealthChecker.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as RateLimiterModule from "../src/RateLimiter.js"
import { LimiterStore } from "../src/RateLimiter/LimiterStore.js"
import * as RecordSink from "../src/RecordSink.js"
import { makeEvents, makeHealth } from "./RoutingFixtures.js"

/**
 * One gateway instance's limiter on `store` (several instances may share
 * one), with `keys` "openai" keys (`openai#0` ...) and the registry of
 * `models`: its context (a selector can be built on it), limiter, usable
 * key ids and recorded events.
 */
export const limiterStack = (store: LimiterStore["Type"], keys: number, models: ReadonlyArray<ModelMetadata>) =>
  Effect.gen(function* () {
    const events = yield* makeEvents
    const health = yield* makeHealth()
    const context = yield* Layer.build(
      Layer.mergeAll(
        RateLimiterModule.layer,
        ModelRegistry.layerMemory(models),
        ApiKeys.layerStatic({ openai: Array.from({ length: keys }, (_, i) => `sk-${i}`) }),
        Layer.succeed(HealthChecker, health.service)
      ).pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            GatewayConfig.layerStatic(defaultConfig),
            Layer.succeed(Events, events.service),
            RecordSink.layerMemory,
            Layer.succeed(LimiterStore, store)
          )
        )
      )
    )
    const limiter = Context.get(context, RateLimiterModule.RateLimiter)
    const keysOf = Context.get(context, ApiKeys.ApiKeys).usableIds!
    return { context, limiter, keysOf, events }
  })
