/**
 * `CacheStoreSql.usedSince`, on both databases: the live entries written or
 * used at or after an instant, most recently used first, at most a limit;
 * what an instance reads to learn the others' cached answers.
 */
import { assert, layer } from "@effect/vitest"
import { type CacheEntry, CacheStore } from "@modelgate/core/CacheStore"
import * as CacheStoreSql from "@modelgate/sql/CacheStoreSql"
import { Effect, Layer } from "effect"
import { databases, servers } from "./databases.js"

const entry = (key: string, lastAccess: number, expiresAt = 1_000_000): CacheEntry => ({
  key,
  model: "gpt-4o-mini",
  response: {
    id: `chatcmpl-${key}`,
    object: "chat.completion",
    created: 1,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: key }, finish_reason: "stop" }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }
  },
  bytes: 10,
  createdAt: lastAccess,
  expiresAt,
  lastAccess
})

layer(servers, { timeout: 60_000 })("CacheStoreSql.usedSince", (it) => {
  for (const database of databases) {
    it.scoped(`on ${database.name}`, () =>
      Effect.gen(function* () {
        const store = yield* CacheStore
        yield* store.setAll([entry("old", 100), entry("a", 200), entry("b", 300), entry("expired", 400, 450), entry("c", 500)])
        const since = yield* store.usedSince!(200, 460, 10)
        assert.deepStrictEqual(since.map((e) => e.key), ["c", "b", "a"])
        assert.strictEqual(since[0]?.response.choices[0].message.content, "c")
        const newest = yield* store.usedSince!(0, 460, 2)
        assert.deepStrictEqual(newest.map((e) => e.key), ["c", "b"])
      }).pipe(Effect.provide(CacheStoreSql.layerMain.pipe(Layer.provideMerge(database.layer)))))
  }
})
