/**
 * The SQL accounting stack (`RecordStoreSql.layerAccounting`, what
 * `GatewayLive` builds) runs the record retention of `records.retentionDays`:
 * once it is up, the records older than the retention go, with one log line.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord } from "@modelgate/domain/Records"
import * as RecordStoreSql from "@modelgate/sql/RecordStoreSql"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Deferred, Effect, Exit, Layer, Logger, TestClock } from "effect"
import { tempFile } from "./recordFixtures.js"

const DAY = 86_400_000
const now = Date.UTC(2026, 5, 15)

const cost = (at: number) =>
  CostRecord.make({ at, requestId: `r${at}`, model: "m1", provider: "openai", promptTokens: 1, completionTokens: 1, cachedTokens: 0, costPicoUsd: 5, cacheHit: false })

const accounting = RecordStoreSql.layerAccounting.pipe(
  Layer.provide(Events.layer),
  Layer.provide(GatewayConfig.layerStatic(new GatewayConfigData({ ...defaultConfig, records: RecordsConfig.make({ retentionDays: 90 }) })))
)

describe("record retention in the SQL accounting stack", () => {
  it.effect("records.retentionDays deletes the older records once the stack is up", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      yield* (yield* RecordStore).writeBatch([cost(now - 91 * DAY), cost(now - 89 * DAY)])
      const logged = yield* Deferred.make<string>()
      const logger = Logger.make(({ message }) => {
        const text = Array.isArray(message) ? message.join(" ") : String(message)
        if (text.startsWith("record retention")) Deferred.unsafeDone(logged, Exit.succeed(text))
      })

      const line = yield* Deferred.await(logged).pipe(
        Effect.provide(accounting),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      assert.match(line, /^record retention \(90 days\): removed 1 cost_records recorded before /)
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ at: number }>`SELECT at FROM cost_records`
      assert.deepStrictEqual(rows.map((r) => r.at), [now - 89 * DAY])
    }).pipe(
      Effect.provide(Layer.unwrapScoped(Effect.map(tempFile, (file) => RecordStoreSql.layer.pipe(Layer.provideMerge(Sqlite.layer(file)))))),
      Effect.provide(NodeContext.layer)
    ))
})
