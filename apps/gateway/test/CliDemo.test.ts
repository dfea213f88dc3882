/**
 * `modelgate demo` prints the address it really listens on and curl commands
 * that pass the gateway's auth when MODELGATE_MASTER_KEY is set (without
 * printing the key), and the dashboard's address.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { startDemo } from "./support/DemoRun.js"

describe("cli demo", () => {
  it.live("prints the real port and curl commands with the master key header", () =>
    Effect.gen(function* () {
      const { text, fiber } = yield* startDemo({ MODELGATE_MASTER_KEY: "demo-secret-key" })
      const base = /(http:\/\/127\.0\.0\.1:(\d+))\/v1\/models/.exec(text)
      assert.isNotNull(base, text)
      assert.notStrictEqual(base![2], "8787")
      assert.notStrictEqual(base![2], "0")
      assert.include(text, `curl -s ${base![1]}/v1/models -H "Authorization: Bearer $MODELGATE_MASTER_KEY"`, text)
      assert.notInclude(text, "demo-secret-key", "the key itself is never printed")
      const withKey = yield* Effect.promise(() => fetch(`${base![1]}/v1/models`, { headers: { authorization: "Bearer demo-secret-key" } }))
      assert.strictEqual(withKey.status, 200)
      const without = yield* Effect.promise(() => fetch(`${base![1]}/v1/models`))
      assert.strictEqual(without.status, 401, "the printed header is needed")
      assert.include(text, `Dashboard: ${base![1]}/dashboard (type the master key into its form)`, text)
      const dashboard = yield* Effect.promise(() => fetch(`${base![1]}/dashboard`))
      assert.strictEqual(dashboard.status, 200, "the printed dashboard is served")
      yield* Fiber.interrupt(fiber)
    }), 30_000)

  it.live("prints no Authorization header when no master key is set", () =>
    Effect.gen(function* () {
      const { text, fiber } = yield* startDemo({})
      assert.notInclude(text, "Authorization")
      const base = /(http:\/\/127\.0\.0\.1:\d+)\/v1\/models/.exec(text)
      const res = yield* Effect.promise(() => fetch(`${base![1]}/v1/models`))
      assert.strictEqual(res.status, 200)
      yield* Fiber.interrupt(fiber)
    }), 30_000)
})
