/**
 * `modelgate demo` prints the address it really listens on and curl commands
 * that pass the gateway's auth when MODELGATE_MASTER_KEY is set (without
 * printing the key), and the dashboard's address.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { startDemo } from "./support/DemoRun.js"
import * as Collector from "./support/OtlpCollector.js"

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

describe("cli demo with an OTLP collector", () => {
  it.live("traces the chat calls it serves over HTTP, as serve does", () =>
    Effect.gen(function* () {
      const collector = yield* Collector.start
      const { base, fiber, out } = yield* startDemo({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })
      const answer = yield* Effect.promise(() =>
        fetch(`${base}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "traced in the demo" }] })
        }).then(async (r) => ({ status: r.status, id: r.headers.get("x-request-id") }))
      )
      assert.strictEqual(answer.status, 200)
      // Interrupting the demo closes its scope: the exporter sends what it holds.
      yield* Fiber.interrupt(fiber)
      const calls = Collector.spansOf(collector.exports).map((s) => s.span).filter((s) => s.kind === 2)
      assert.deepStrictEqual(
        calls.map((s) => [s.name, Collector.attributesOf(s.attributes)["modelgate.request_id"]]),
        [["chat gpt-4o-mini", answer.id]],
        `only the HTTP call is traced; demo output:\n${out.join("\n")}`
      )
    }).pipe(Effect.scoped), 30_000)
})
