/**
 * `GatewayLive.layerWith` puts a caller's layer in place of each live one
 * (DESIGN.md: "any layer can be replaced by a test double"): the HTTP client
 * under the adapters, the accounting stores, the cache store, the limiter's
 * store and the added-models store. Each double is seen doing the work, and
 * the SQLite tables it replaces stay empty. A replacement may use the SQL
 * client, `Events` and `GatewayConfig`, as the options' doc says.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { HttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import * as CacheStore from "@modelgate/core/CacheStore"
import { Events } from "@modelgate/core/Events"
import { Gateway } from "@modelgate/core/Gateway"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import * as ModelStore from "@modelgate/core/ModelStore"
import { Providers } from "@modelgate/core/Provider"
import * as LimiterStore from "@modelgate/core/RateLimiter/LimiterStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"
import { MemoryRecordStore } from "@modelgate/core/RecordStore"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as HttpClientLive from "@modelgate/node/HttpClientLive"
import * as ProvidersLive from "@modelgate/node/ProvidersLive"
import type { ConfigError, StoreError } from "@modelgate/domain/Errors"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Effect, Layer, Ref } from "effect"
import { ask, models } from "./fixture.js"

/** An HTTP client over the live one that notes every URL it is asked for. */
const recordingClient = (urls: Ref.Ref<ReadonlyArray<string>>) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, HttpClient.tapRequest((request) => Ref.update(urls, (all) => [...all, request.url])))
  ).pipe(Layer.provide(HttpClientLive.layer))

/** The memory limiter store, counting the window steps it runs. */
const countingLimiterStore = (steps: Ref.Ref<number>) =>
  Layer.effect(
    LimiterStore.LimiterStore,
    Effect.map(LimiterStore.makeMemory, (store) =>
      LimiterStore.LimiterStore.of({
        ...store,
        // Without `applySync` the limiter goes through `apply`, one step at a time.
        applySync: undefined,
        apply: (key, now, windowMs, op) => Effect.zipRight(Ref.update(steps, (n) => n + 1), store.apply(key, now, windowMs, op))
      }))
  )

/** Rows in a SQLite table of the gateway's database. */
const rowsOf = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT count(*) AS n FROM ${sql(table)}`).pipe(
    Effect.map((rows) => rows[0]!.n)
  )

describe("GatewayLive.layerWith swaps layers", () => {
  it.scoped("the HTTP client, accounting, cache, limiter and model stores given are the ones used", () =>
    Effect.gen(function* () {
      const fakes = yield* FakeStackConfig.make({ prefix: "modelgate-swap-", models: models() })
      const urls = yield* Ref.make<ReadonlyArray<string>>([])
      const limiterSteps = yield* Ref.make(0)
      // Layer values passed in and also provided over the result are built once: the MemoryRecordStore and ModelStore read are the gateway's.
      const accounting = AccountingMemory.layerMemory
      const modelStore = Layer.effect(ModelStore.ModelStore, ModelStore.makeMemory())
      const live = GatewayLive.layerWith({
        configDirectory: fakes.dir,
        watch: false,
        httpClient: recordingClient(urls),
        accounting,
        cacheStore: CacheStore.layerMemory,
        limiterStore: countingLimiterStore(limiterSteps),
        modelStore
      })
      const context = yield* Layer.build(
        Layer.merge(accounting, modelStore).pipe(Layer.provideMerge(live), Layer.provide(Layer.setConfigProvider(fakes.configProvider)))
      )

      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        const first = yield* gateway.complete(ask("Hello", "gpt-4o-mini", { temperature: 0 }), defaultRequirements)
        const second = yield* gateway.complete(ask("Hello", "gpt-4o-mini", { temperature: 0 }), defaultRequirements)
        assert.isFalse(first.meta.cacheHit)
        assert.isTrue(second.meta.cacheHit, "the second identical request is served from the memory cache store")
        assert.deepStrictEqual(
          (yield* Ref.get(urls)).map((url) => new URL(url).pathname),
          ["/v1/chat/completions"],
          "the provider call went through the given HTTP client, once"
        )
        assert.isAbove(yield* Ref.get(limiterSteps), 0, "the rate limiter ran its windows on the given store")

        yield* (yield* RecordWriter).flush
        const costs = (yield* (yield* MemoryRecordStore).all).filter((r) => r._tag === "CostRecord")
        assert.deepStrictEqual(costs.map((r) => r.model), ["gpt-4o-mini", "gpt-4o-mini"], "both requests' costs are in the memory record store")

        const registry = yield* ModelRegistry
        yield* registry.add({ ...models().models[1], id: "added-at-run-time" })
        assert.deepStrictEqual((yield* (yield* ModelStore.ModelStore).list).map(ModelStore.overrideId), ["added-at-run-time"])

        for (const table of ["cost_records", "cached_responses", "model_overrides"]) {
          assert.strictEqual(yield* rowsOf(table), 0, `nothing was written to the SQLite table ${table}`)
        }
      }).pipe(Effect.provide(context))
    }))

  it.scoped("a replacement may use the SQL client, Events and GatewayConfig, and the gateway still needs nothing", () =>
    Effect.gen(function* () {
      const fakes = yield* FakeStackConfig.make({ prefix: "modelgate-swap-needs-", models: models() })
      const built = yield* Ref.make<ReadonlyArray<string>>([])
      /** `layer`, built after reading the three services the doc lets a replacement use, noting `name`. */
      const using = <A, E, R>(name: string, layer: Layer.Layer<A, E, R>) =>
        Layer.merge(
          layer,
          Layer.effectDiscard(
            Effect.all([SqlClient.SqlClient, Events, GatewayConfig]).pipe(Effect.zipRight(Ref.update(built, (names) => [...names, name])))
          )
        )
      const live = GatewayLive.layerWith({
        configDirectory: fakes.dir,
        watch: false,
        httpClient: using("httpClient", HttpClientLive.layer),
        accounting: using("accounting", AccountingMemory.layerMemory),
        cacheStore: using("cacheStore", CacheStore.layerMemory),
        limiterStore: using("limiterStore", LimiterStore.layerMemory),
        modelStore: using("modelStore", ModelStore.layerMemory)
      })
      expectTypeOf<Layer.Layer.Context<typeof live>>().toEqualTypeOf<never>()
      expectTypeOf<Layer.Layer.Error<typeof live>>().toEqualTypeOf<ConfigError | StoreError>()
      const context = yield* Layer.build(live.pipe(Layer.provide(Layer.setConfigProvider(fakes.configProvider))))

      assert.sameMembers([...(yield* Ref.get(built))], ["httpClient", "accounting", "cacheStore", "limiterStore", "modelStore"])
      const answer = yield* Effect.provide(
        Effect.flatMap(Gateway, (gateway) => gateway.complete(ask("Hello", "gpt-4o-mini"), defaultRequirements)),
        context
      )
      assert.strictEqual(answer.meta.model, "gpt-4o-mini")
    }))

  it.scoped("a provider table replacement may use them too, beside the HTTP client", () =>
    Effect.gen(function* () {
      const fakes = yield* FakeStackConfig.make({ prefix: "modelgate-swap-providers-", models: models() })
      const providers = Layer.effect(
        Providers,
        Effect.all([SqlClient.SqlClient, Events, GatewayConfig, HttpClient.HttpClient]).pipe(
          Effect.zipRight(Effect.map(Providers, (live) => live))
        )
      ).pipe(Layer.provide(ProvidersLive.layer))
      const live = GatewayLive.layerWith({ configDirectory: fakes.dir, watch: false, providers })
      expectTypeOf<Layer.Layer.Context<typeof live>>().toEqualTypeOf<never>()
      const context = yield* Layer.build(live.pipe(Layer.provide(Layer.setConfigProvider(fakes.configProvider))))
      const answer = yield* Effect.provide(
        Effect.flatMap(Gateway, (gateway) => gateway.complete(ask("Hello", "gpt-4o-mini"), defaultRequirements)),
        context
      )
      assert.strictEqual(answer.meta.model, "gpt-4o-mini")
    }))
})
