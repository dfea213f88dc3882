/**
 * `modelgate demo` prints the address it really listens on and curl commands
 * that pass the gateway's auth when MODELGATE_MASTER_KEY is set (without
 * printing the key).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Console, Effect, Fiber, Schedule } from "effect"
import { runDemo } from "../src/cli/demo.js"

/** Start the demo on port 0 with these variables; returns what it printed once the banner is out, and its fiber. */
const startDemo = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const console = new Proxy({} as Console.Console, {
      get: (_target, key) => {
        if (key === "log" || key === "error") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(xs.join(" ")))
        if (key === "unsafe") return { log: () => {}, error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {} }
        if (key === Console.TypeId) return Console.TypeId
        return () => Effect.void
      }
    })
    const fiber = yield* runDemo({ port: 0, host: "127.0.0.1" }).pipe(
      Effect.withConsole(console),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(NodeContext.layer),
      Effect.fork
    )
    const text = yield* Effect.sync(() => out.join("\n")).pipe(
      Effect.filterOrFail((t) => t.includes("Background load")),
      Effect.retry(Schedule.spaced("50 millis")),
      Effect.timeout("20 seconds"),
      Effect.catchAll(() => Effect.flatMap(Fiber.poll(fiber), (exit) => Effect.dieMessage(`no banner: ${out.join("\n")} ${exit._tag === "Some" && exit.value._tag === "Failure" ? Cause.pretty(exit.value.cause) : "running"}`)))
    )
    return { text, fiber }
  })

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
