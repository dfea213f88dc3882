/**
 * Limiter keys as instances share them: a key window goes by its key's
 * fingerprint (never the key), a model's own window by its name, even when
 * the model id holds an `@`, and the window of a key this instance does not
 * hold is left out.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ApiKeys, layerStatic } from "../src/ApiKeys.js"
import * as SharedNames from "../src/RateLimiter/SharedNames.js"

const namesOf = (keys: ReadonlyArray<string>) =>
  Effect.map(Effect.provide(ApiKeys, layerStatic({ openai: keys })), (k) => SharedNames.make(k.sharedIds!))

describe("RateLimiter shared names", () => {
  it.effect("a key window is shared by the key's fingerprint, the same on an instance that lists its keys in another order", () =>
    Effect.gen(function* () {
      const here = yield* namesOf(["sk-old-0123456789", "sk-new-0123456789"])
      const there = yield* namesOf(["sk-new-0123456789"])
      const shared = here.toShared("gpt-4o@openai#1")
      assert.match(shared, /^gpt-4o@openai~[0-9a-f]{16}$/)
      assert.notInclude(shared, "sk-new")
      assert.strictEqual(there.toShared("gpt-4o@openai#0"), shared)
      assert.strictEqual(there.fromShared(shared), "gpt-4o@openai#0")
      // The old key's window means nothing where that key is not held.
      assert.isUndefined(there.fromShared(here.toShared("gpt-4o@openai#0")))
    }))

  it.effect("a model's own window keeps its name, an @ in the model id included", () =>
    Effect.gen(function* () {
      const names = yield* namesOf(["sk-a-0123456789"])
      for (const key of ["gpt-4o", "team@v2", "team@v2@openai#7"]) {
        assert.strictEqual(names.toShared(key), key)
        assert.strictEqual(names.fromShared(key), key)
      }
    }))
})
