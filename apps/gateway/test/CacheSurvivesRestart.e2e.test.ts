/**
 * The response cache's persistent tier across a restart of `modelgate serve`:
 * an answer cached before SIGTERM is a hit after the restart (no provider
 * call) within its TTL; one whose TTL has passed is not served.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { Effect } from "effect"
import * as path from "node:path"
import { hangAfterMs, settles } from "./support/HangDetector.js"
import { ensureBuilt, serve, overFakes, unreachableProviders } from "./support/ServeProcess.js"

const ask = (url: string, content: string, ttlSeconds?: number) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(ttlSeconds === undefined ? {} : { "x-modelgate-cache-ttl": String(ttlSeconds) })
    },
    body: JSON.stringify({ model: "gpt-4o-mini", temperature: 0, messages: [{ role: "user", content }] })
  }).then(async (r) => ({ status: r.status, cache: r.headers.get("x-modelgate-cache"), body: await r.text() }))

describe("response cache across a restart", () => {
  beforeAll(ensureBuilt, 120_000)

  it.scopedLive("a live entry is a hit after restart, an expired one is not", () =>
    Effect.gen(function* () {
      const { anthropic, db, dir, openai } = yield* overFakes("modelgate-cache-restart-")
      const gateway = {
        providers: unreachableProviders(),
        healthCheck: { enabled: false },
        cache: { enabled: true, ttlMs: 3_600_000 }
      }
      const start = (name: string) => serve({ dir: path.join(dir, name), db, openaiUrl: openai.baseUrl, anthropicUrl: anthropic.url, gateway })

      const first = yield* start("first")
      const long = yield* settles("first answer", () => ask(first.url, "remember me"), first.tail)
      const short = yield* settles("short-lived answer", () => ask(first.url, "forget me", 1), first.tail)
      assert.deepStrictEqual([long.status, long.cache, short.status, short.cache], [200, "miss", 200, "miss"], first.tail())
      first.child.kill("SIGTERM")
      assert.deepStrictEqual(yield* settles("exit", () => first.exited, first.tail), { code: 0, signal: null })
      const conn = new Database(db, { readonly: true })
      const stored = (conn.prepare("SELECT COUNT(*) AS n FROM cached_responses").get() as { n: number }).n
      conn.close()
      assert.strictEqual(stored, 2, "both answers persisted at shutdown")
      const callsBefore = (yield* openai.requests).length

      // the short-lived answer (1 ms) has expired by now: a restart takes far longer
      const second = yield* start("second")
      const again = yield* settles("cached answer", () => ask(second.url, "remember me"), second.tail)
      assert.strictEqual(again.status, 200)
      assert.strictEqual(again.cache, "hit", second.tail())
      assert.strictEqual((yield* openai.requests).length, callsBefore, "a hit called the provider")
      const expired = yield* settles("expired answer", () => ask(second.url, "forget me", 1), second.tail)
      assert.strictEqual(expired.cache, "miss", "an expired entry was served after restart")
      assert.strictEqual((yield* openai.requests).length, callsBefore + 1)
      second.child.kill("SIGTERM")
      assert.deepStrictEqual(yield* settles("exit", () => second.exited, second.tail), { code: 0, signal: null })
    }), 10 * hangAfterMs)
})
