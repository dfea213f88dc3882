/**
 * `modelgate costs` and `modelgate models` read PostgreSQL when
 * `MODELGATE_DATABASE_URL` is set, as `serve` writes it: the costs the
 * instances recorded, the models added through the admin API; the SQLite file
 * is not created.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { AddedModel, ModelStore } from "@modelgate/core/ModelStore"
import { RecordStore } from "@modelgate/core/RecordStore"
import { ModelMetadata } from "@modelgate/domain/Model"
import { CostRecord } from "@modelgate/domain/Records"
import * as ModelStoreSql from "@modelgate/sql/ModelStoreSql"
import * as Postgres from "@modelgate/sql/Postgres"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Exit, Layer, Redacted, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { makeCostsLayer, makeRegistryLayer } from "../src/cli/runtime.js"
import { runOn } from "./support/RunCli.js"

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** `modelgate ...args` on the CLI's real layers, with `MODELGATE_DATABASE_URL` and a `MODELGATE_DB` that must stay unused. */
const run = (url: Redacted.Redacted<string>, ...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const config = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-config-"))
    Fs.copyFileSync(Path.join(repoRoot, "config", "models.json"), Path.join(config, "models.json"))
    const db = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-db-")), "never", "never.db")
    const source = { app: () => Layer.die("the whole gateway must not be built"), registry: makeRegistryLayer, costs: makeCostsLayer }
    const env = { MODELGATE_DB: db, MODELGATE_DATABASE_URL: Redacted.value(url) }
    return { ...(yield* runOn(source, env, ...args, "--config", config)), db }
  })

layer(Layer.merge(TestPostgres.layer, NodeContext.layer), { timeout: 60_000, excludeTestServices: true })("the CLI on PostgreSQL", (it) => {
  it.scoped("costs and models read the database of MODELGATE_DATABASE_URL", () =>
    Effect.gen(function* () {
      const database = yield* TestPostgres.fresh
      const added = Schema.decodeUnknownSync(ModelMetadata)({
        id: "added-on-postgres",
        provider: "openai",
        providerModel: "gpt-4o-mini",
        displayName: "Added on PostgreSQL",
        capabilities: ["chat"],
        contextWindow: 128000,
        maxOutputTokens: 16384,
        pricing: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
        rateLimits: { rpm: 500, tpm: 200000 },
        qualityTier: "economy",
        qualityScore: 0.6
      })
      yield* Effect.gen(function* () {
        yield* (yield* RecordStore).writeBatch([
          CostRecord.make({
            at: Date.now(),
            requestId: "r1",
            model: "gpt-4o-mini",
            provider: "openai",
            promptTokens: 1000,
            completionTokens: 100,
            cachedTokens: 0,
            costPicoUsd: 1_234_000_000,
            cacheHit: false
          })
        ])
        yield* (yield* ModelStore).put(AddedModel.make({ model: added }))
      }).pipe(Effect.provide(Layer.mergeAll(RecordStoreSql.layerMain, ModelStoreSql.layer).pipe(Layer.provideMerge(Postgres.layer(database)))))

      const costs = yield* run(database.url, "costs", "--since", "7d", "--by", "model")
      assert.isTrue(Exit.isSuccess(costs.exit), `${costs.out}\n${JSON.stringify(costs.exit)}`)
      assert.match(costs.out, /gpt-4o-mini/)
      assert.include(costs.out, "$0.001234")

      const models = yield* run(database.url, "models")
      assert.isTrue(Exit.isSuccess(models.exit), `${models.out}\n${JSON.stringify(models.exit)}`)
      assert.match(models.out, /added-on-postgres\s+openai/)
      assert.isFalse(Fs.existsSync(Path.dirname(costs.db)) || Fs.existsSync(Path.dirname(models.db)), "a SQLite file's directory was created")
    }))
})
