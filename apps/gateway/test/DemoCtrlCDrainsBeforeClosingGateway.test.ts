/**
 * Ctrl-C on `modelgate demo`: like `serve`, the server stops and in-flight
 * requests finish before the gateway's layers (record writer, database) close.
 * The demo built its HTTP server and background load in the outer scope, which
 * closes after the gateway: a request in flight at Ctrl-C then finished against
 * a closed gateway, and its records were "offered after the writer closed" /
 * "lost" (warnings and an ERROR printed on every Ctrl-C under load).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger, LogLevel } from "effect"
import { startDemo } from "./support/DemoRun.js"

describe("demo Ctrl-C", () => {
  it.live("lets an in-flight stream finish and loses no record", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const capture = Logger.make(({ logLevel, message, cause }) => {
        if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) logs.push(`${logLevel.label} ${String(message)} ${cause._tag === "Empty" ? "" : String(cause)}`)
      })
      const { base, fiber } = yield* startDemo({}, capture)
      // A stream of the lifelike fake takes several hundred ms: its headers come first, then its events.
      const started = yield* Effect.promise(() =>
        fetch(`${base}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "claude-haiku-4-5",
            stream: true,
            messages: [{ role: "user", content: "one two three four five six seven eight nine ten" }]
          })
        })
      )
      // The stream is in flight (its headers arrived); its body is read while the demo stops.
      const body = started.text().catch((e) => `read failed: ${String(e)}`)
      // Ctrl-C
      yield* Fiber.interrupt(fiber)
      const res = { status: started.status, body: yield* Effect.promise(() => body) }
      assert.strictEqual(res.status, 200, res.body)
      assert.include(res.body, "data: [DONE]", `the in-flight stream was cut: ${res.body}`)
      assert.deepStrictEqual(logs.filter((l) => /writer closed|lost|worker has stopped/.test(l)), [], logs.join("\n"))
    }), 30_000)
})
