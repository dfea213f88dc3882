/**
 * `modelgate costs` prints the recorded pico-dollars exactly: a group that
 * cost less than half a micro-dollar is not shown as $0.000000, and the rows
 * add up to the total printed under them (rounded to 6 places they did not).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord } from "@modelgate/domain/Records"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Effect, Exit, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { makeCostsLayer, makeRegistryLayer } from "../src/cli/runtime.js"
import { runOn } from "./support/RunCli.js"

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")

const record = (requestId: string, model: string, costPicoUsd: number, agentType?: string, breakdown: { cacheWriteTokens?: number; reasoningTokens?: number } = {}) =>
  CostRecord.make({
    at: Date.now() - 60_000,
    requestId,
    model,
    provider: "openai",
    agentType,
    promptTokens: 10,
    completionTokens: 5,
    cachedTokens: 0,
    ...breakdown,
    costPicoUsd,
    cacheHit: false
  })

describe("modelgate costs", () => {
  it.effect("prints every group (its tokens' cache reads, cache writes and reasoning too) and the total to the pico-dollar", () =>
    Effect.gen(function* () {
      const db = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-db-")), "modelgate.db")
      yield* Effect.flatMap(RecordStore, (store) =>
        store.writeBatch([
          record("a", "gpt-4o-mini", 400_000, "coder", { reasoningTokens: 3 }),
          record("b", "gpt-4o", 1_500_000, undefined, { cacheWriteTokens: 4 }),
          record("c", "gpt-4o", 1_500_000, "coder", { cacheWriteTokens: 2, reasoningTokens: 1 })
        ])).pipe(Effect.provide(RecordStoreSql.layerMain.pipe(Layer.provide(Sqlite.layer(db)), Layer.provide(NodeContext.layer))))
      const config = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-config-"))
      Fs.copyFileSync(Path.join(repoRoot, "config", "models.json"), Path.join(config, "models.json"))
      const source = { app: () => Layer.die("the whole gateway must not be built"), registry: makeRegistryLayer, costs: makeCostsLayer }

      const byModel = yield* runOn(source, { MODELGATE_DB: db }, "costs", "--by", "model", "--config", config)
      assert.isTrue(Exit.isSuccess(byModel.exit), JSON.stringify(byModel.exit))
      assert.match(byModel.out, /MODEL\s+REQUESTS\s+CACHE HITS\s+TOKENS\s+CACHE READS\s+CACHE WRITES\s+REASONING\s+COST\n/)
      assert.match(byModel.out, /gpt-4o-mini\s+1\s+0\s+15\s+0\s+0\s+3\s+\$0\.0000004\n/)
      assert.match(byModel.out, /gpt-4o\s+2\s+0\s+30\s+0\s+6\s+1\s+\$0\.000003\n/)
      assert.match(byModel.out, /total since [^:]+:\d\d:\d\d\.\d+Z: \$0\.0000034$/)

      const byAgent = yield* runOn(source, { MODELGATE_DB: db }, "costs", "--by", "agent", "--config", config)
      assert.match(byAgent.out, /\(none\)\s+1\s+0\s+15\s+0\s+4\s+0\s+\$0\.0000015\n/)
      assert.match(byAgent.out, /coder\s+2\s+0\s+30\s+0\s+2\s+4\s+\$0\.0000019\n/)
    }))
})
