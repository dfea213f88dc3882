/**
 * Costs by provider key across two gateway instances on one PostgreSQL
 * database that list the same keys in another order (as while keys are
 * rotated, or after a restart with the keys reordered): each key's spend is
 * grouped under that key, whichever instance used it and at whatever
 * position, never under a position (`openai#1`) that names another key on
 * the other instance.
 */
import { assert, layer } from "@effect/vitest"
import { CostTracker } from "@modelgate/core/CostTracker"
import { Gateway } from "@modelgate/core/Gateway"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { ConfigProvider, Effect, Layer } from "effect"
import { ask, models } from "./fixture.js"

layer(TestPostgres.layer, { timeout: 60_000, excludeTestServices: true })("costs by key across instances", (it) => {
  it.scoped("two instances listing the same keys in another order: /admin/costs?by=key counts each key's requests under that key", () =>
    Effect.gen(function* () {
      const { maxConnections, url } = yield* TestPostgres.fresh
      const fakes = yield* FakeStackConfig.make({ prefix: "modelgate-key-costs-", models: models(), openAiApiKeys: ["sk-first", "sk-second"] })
      const instance = (keys: ReadonlyArray<string>) =>
        Layer.build(
          GatewayLive.layerWith({ configDirectory: fakes.dir, watch: false, database: { _tag: "Postgres", url, maxConnections } }).pipe(
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", keys[0]!], ["OPENAI_API_KEY_1", keys[1]!]]))))
          )
        )
      const a = yield* instance(["sk-first", "sk-second"])
      const b = yield* instance(["sk-second", "sk-first"])
      // Each instance's first request goes out on its first key: A's on sk-first, B's on sk-second.
      for (const gateway of [a, b]) {
        yield* Effect.flatMap(Gateway, (g) => g.complete(ask("hello", "gpt-4o-mini"), defaultRequirements)).pipe(Effect.provide(gateway))
        yield* Effect.flatMap(RecordWriter, (w) => w.flush).pipe(Effect.provide(gateway))
      }
      const keys = (yield* fakes.openai.requests).map((r) => r.headers["authorization"])
      assert.deepStrictEqual(keys, ["Bearer sk-first", "Bearer sk-second"])
      const byKey = yield* Effect.flatMap(CostTracker, (c) => c.costs({ groupBy: "apiKeyId" })).pipe(Effect.provide(a))
      assert.deepStrictEqual(byKey.map((g) => g.requests), [1, 1], "one group per key, one request each")
      for (const group of byKey) assert.match(group.key ?? "", /^openai~[0-9a-f]{16}$/, "named by the key's fingerprint, never the key")
    }))
})
