/**
 * Two `modelgate serve` processes on one PostgreSQL database
 * (`MODELGATE_DATABASE_URL`; PGlite over the wire protocol here): both
 * migrate it together and start, both serve, both exit 0 on SIGTERM, every
 * answered request of either has exactly one cost row there, and neither
 * writes the SQLite file nor shows the URL's password.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, beforeAll, describe, layer } from "@effect/vitest"
import * as Postgres from "@modelgate/sql/Postgres"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { hangAfterMs, settles } from "./support/HangDetector.js"
import { chatLoad, ensureBuilt, overFakes, serve, unreachableProviders } from "./support/ServeProcess.js"

const PER = 40
const password = "pw-never-shown"

describe("two gateways on one PostgreSQL database", () => {
  beforeAll(ensureBuilt, 120_000)

  layer(Layer.merge(TestPostgres.layer, NodeContext.layer), { excludeTestServices: true, timeout: 10 * hangAfterMs })("serve", (it) => {
    it.scoped("start together, serve, exit 0, one cost row per answer in PostgreSQL", () =>
      Effect.gen(function* () {
        const database = yield* TestPostgres.fresh
        const withPassword = new URL(Redacted.value(database.url))
        withPassword.password = password
        const env = { MODELGATE_DATABASE_URL: withPassword.toString() }
        const { anthropic, db, dir, openai } = yield* overFakes("modelgate-two-pg-")
        const gateway = {
          providers: unreachableProviders(),
          healthCheck: { enabled: false },
          cache: { enabled: true },
          records: { flushIntervalMs: 20, batchSize: 16 }
        }
        const [a, b] = yield* Effect.all(
          [
            serve({ dir: path.join(dir, "a"), db, openaiUrl: openai.baseUrl, anthropicUrl: anthropic.url, gateway, env }),
            serve({ dir: path.join(dir, "b"), db, openaiUrl: openai.baseUrl, anthropicUrl: anthropic.url, gateway, env })
          ],
          { concurrency: 2 }
        )
        const [ra, rb] = yield* settles("load on both", () => Promise.all([chatLoad(a.url, 0, PER, 4), chatLoad(b.url, 1_000, PER, 4)]), () => a.tail() + b.tail())
        const all = [...ra, ...rb]
        assert.deepStrictEqual(all.filter((o) => o.status !== 200).map((o) => o.body.slice(0, 200)), [], a.tail() + b.tail())
        a.child.kill("SIGTERM")
        b.child.kill("SIGTERM")
        const exits = yield* settles("both exit", () => Promise.all([a.exited, b.exited]), () => a.tail() + b.tail())
        assert.deepStrictEqual(exits, [{ code: 0, signal: null }, { code: 0, signal: null }], a.tail() + b.tail())

        const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ id: string; n: string }>`SELECT request_id AS id, COUNT(*) AS n FROM cost_records GROUP BY request_id`
        ).pipe(Effect.provide(Postgres.layer(database)))
        const counted = new Map(rows.map((r) => [r.id, Number(r.n)]))
        const ids = all.map((o) => o.requestId!)
        assert.strictEqual(new Set(ids).size, ids.length, "two answers with one request id (across the processes)")
        assert.deepStrictEqual(ids.filter((id) => counted.get(id) !== 1), [], a.tail() + b.tail())

        assert.isFalse(fs.existsSync(db), "the SQLite file was created")
        for (const served of [a, b]) {
          assert.include(served.output(), "database: PostgreSQL postgres://")
          assert.notInclude(served.output(), password)
        }
      }))
  })
})
