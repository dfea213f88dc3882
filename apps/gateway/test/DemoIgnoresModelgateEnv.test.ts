/**
 * `modelgate demo` writes its own configuration (no overlay): a user's
 * `MODELGATE_ENV` (set for `serve`, in the shell or `.env`) must not make it
 * warn that an overlay is missing at the demo's temporary directory, a path
 * the user never made and cannot fix.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger } from "effect"
import { startDemo } from "./support/DemoRun.js"

describe("demo and MODELGATE_ENV", () => {
  it.live("starts without a warning about a missing environment overlay", () =>
    Effect.gen(function* () {
      const logged: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        logged.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
      const { base, fiber } = yield* startDemo({ MODELGATE_ENV: "production" }, logger)
      const res = yield* Effect.promise(() => fetch(`${base}/v1/models`))
      assert.strictEqual(res.status, 200)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(logged.filter((line) => line.includes("MODELGATE_ENV")), [])
    }), 30_000)
})
