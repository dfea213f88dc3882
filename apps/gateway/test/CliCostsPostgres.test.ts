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
import { ConfigProvider, Console, Effect, Exit, Layer, Redacted, Schema } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Commands from "../src/cli/Commands.js"
import { makeCostsLayer, makeRegistryLayer } from "../src/cli/runtime.js"

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")

const run = (url: Redacted.Redacted<string>, ...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const console = new Proxy({} as Console.Console, {
      get: (_target, key) => {
        if (key === "log" || key === "error") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(xs.join(" ")))
        if (key === Console.TypeId) return Console.TypeId
        return () => Effect.void
      }
    })
    const config = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-config-"))
    Fs.copyFileSync(Path.join(repoRoot, "config", "models.json"), Path.join(config, "models.json"))
    const db = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-db-")), "never.db")
    const env = new Map([["MODELGATE_DB", db], ["MODELGATE_DATABASE_URL", Redacted.value(url)]])
    const exit = yield* Commands.run({
      app: () => Layer.die("the whole gateway must not be built"),
      registry: makeRegistryLayer,
      costs: makeCostsLayer
    })(["node", "modelgate", ...args, "--config", config]).pipe(
      Effect.withConsole(console),
      Effect.withConfigProvider(ConfigProvider.fromMap(env)),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { exit, out: out.join("\n"), db }
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
      assert.isFalse(Fs.existsSync(costs.db) || Fs.existsSync(models.db), "a SQLite file was created")
    }))
})
