/**
 * Two `modelgate serve` processes started together on one fresh SQLite file
 * (WAL): both migrate and start, both serve under load, both exit 0 on
 * SIGTERM, and every answered request of either has exactly one cost row.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { Effect } from "effect"
import * as path from "node:path"
import { hangAfterMs, settles } from "./support/HangDetector.js"
import { chatLoad, costRows, ensureBuilt, serve, overFakes, unreachableProviders } from "./support/ServeProcess.js"

const PER = 150

describe("two gateways on one database file", () => {
  beforeAll(ensureBuilt, 120_000)

  it.scopedLive("start together, serve, exit 0, one cost row per answer", () =>
    Effect.gen(function* () {
      const { anthropic, db, dir, openai } = yield* overFakes("modelgate-two-")
      const gateway = {
        providers: unreachableProviders(),
        healthCheck: { enabled: false },
        cache: { enabled: true },
        records: { flushIntervalMs: 20, batchSize: 16 }
      }
      const [a, b] = yield* Effect.all(
        [
          serve({ dir: path.join(dir, "a"), db, openaiUrl: openai.baseUrl, anthropicUrl: anthropic.url, gateway }),
          serve({ dir: path.join(dir, "b"), db, openaiUrl: openai.baseUrl, anthropicUrl: anthropic.url, gateway })
        ],
        { concurrency: 2 }
      )
      const [ra, rb] = yield* settles("load on both", () => Promise.all([chatLoad(a.url, 0, PER, 10), chatLoad(b.url, 0, PER, 10)]), () => a.tail() + b.tail())
      const all = [...ra, ...rb]
      assert.deepStrictEqual(all.filter((o) => o.status !== 200).map((o) => o.body.slice(0, 200)), [], a.tail() + b.tail())
      a.child.kill("SIGTERM")
      b.child.kill("SIGTERM")
      const exits = yield* settles("both exit", () => Promise.all([a.exited, b.exited]), () => a.tail() + b.tail())
      assert.deepStrictEqual(exits, [{ code: 0, signal: null }, { code: 0, signal: null }], a.tail() + b.tail())
      const rows = costRows(db)
      const ids = all.map((o) => o.requestId!)
      assert.strictEqual(new Set(ids).size, ids.length, "two answers with one request id (across the processes)")
      assert.deepStrictEqual(ids.filter((id) => rows.get(id) !== 1), [], a.tail() + b.tail())
      const conn = new Database(db, { readonly: true })
      try {
        assert.deepStrictEqual(conn.prepare("PRAGMA integrity_check").all(), [{ integrity_check: "ok" }])
      } finally {
        conn.close()
      }
    }), 10 * hangAfterMs)
})
