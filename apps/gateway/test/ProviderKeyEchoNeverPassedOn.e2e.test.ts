/**
 * OpenAI answers a refused key with the key partly masked ("Incorrect API
 * key provided: sk-****Qx7Z", its first and last characters). That echo is
 * the provider's words about our secret: over GatewayLive and FakeOpenAi, no
 * part of it reaches the client's error body, `/ready` (served without a
 * key), `/admin/health`, `/v1/events`, the rows in SQLite or any log line.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Cause, Context, Effect, Fiber, Inspectable, Layer, Logger, LogLevel, Schedule } from "effect"
import * as HttpApp from "../src/HttpApp.js"
import { readSse } from "./support/Client.js"
import { twoModels } from "./support/Registry.js"
import { allRows } from "./support/ServeProcess.js"
import { bearer, call, chat, master, type Reply } from "./support/VkStack.js"

/** A key FakeOpenAi refuses; its last four characters are what OpenAI echoes. */
const refusedKey = "sk-proj-refusedKeyRefusedKeyQx7Z"
const tail = refusedKey.slice(-4)

/** GatewayLive over the fakes with the refused OpenAI key, every log line kept in `lines`. */
const serve = (healthCheck: Record<string, unknown>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const logger = Logger.make(({ cause, message }) => {
      lines.push(`${Inspectable.toStringUnknown(message)} ${Cause.pretty(cause)}`)
    })
    const stack = yield* FakeStackConfig.make({
      prefix: "modelgate-echo-",
      gateway: { failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }, cache: { enabled: false }, healthCheck },
      models: twoModels("echo", { openai: { rpm: 5_000, tpm: 20_000_000 }, anthropic: { rpm: 5_000, tpm: 20_000_000 } }),
      env: { MODELGATE_MASTER_KEY: master, OPENAI_API_KEY: refusedKey }
    })
    const live = GatewayLive.layerWith({ configDirectory: stack.dir, watch: false }).pipe(
      Layer.provide(Layer.setConfigProvider(stack.configProvider))
    )
    const context = yield* Layer.build(
      HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(
        Layer.provide(live),
        Layer.provide(Logger.replace(Logger.defaultLogger, logger)),
        Layer.provide(Logger.minimumLogLevel(LogLevel.All))
      )
    )
    const server = Context.get(context, HttpServer.HttpServer)
    const url = `http://127.0.0.1:${server.address._tag === "TcpAddress" ? server.address.port : 0}`
    return { stack, server, url, lines }
  })

/** Neither the key's last characters nor the provider's mask of it in any of `seen`. */
const assertNoEcho = (seen: Record<string, string>) => {
  for (const [where, text] of Object.entries(seen)) {
    assert.notInclude(text, tail, `${where} holds the key's last characters`)
    assert.notInclude(text, "****", `${where} holds the provider's masked echo of the key`)
  }
}

describe("a provider's echo of a refused key", () => {
  it.scopedLive("on the request path: the error body, the events, the rows and the logs hold no part of it", () =>
    Effect.gen(function* () {
      const { lines, server, stack, url } = yield* serve({ enabled: false })
      const failovers = yield* readSse("/v1/events", bearer(master), (data) => data.some((e) => e._tag === "Failover") ? data : undefined).pipe(
        Effect.provideService(HttpServer.HttpServer, server),
        Effect.fork
      )
      yield* Effect.sleep(100)
      // The OpenAI key is refused (and set aside); the fallback fails too: the 502 names every candidate's failure.
      yield* stack.anthropic.script(Fault.status(500))
      const refused = yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(master) })
      assert.strictEqual(refused.status, 502, refused.text)
      assert.include(refused.text, "openai#0", "the key is named by its id")
      const events = JSON.stringify((yield* Fiber.join(failovers)).value)
      assert.include(events, "openai#0")
      yield* Effect.sleep(300)
      const rows = allRows(stack.db)
      assert.include(rows, "openai#0", "the failover row was written")
      assertNoEcho({ error: refused.text, events, rows, logs: lines.join("\n") })
    }), { timeout: 30_000 })

  it.scopedLive("in health: /ready (served without a key), /admin/health and the logs hold no part of it", () =>
    Effect.gen(function* () {
      const { lines, url } = yield* serve({ enabled: true, intervalMs: 200, failureThreshold: 1 })
      // Traffic sets the refused key aside; the next probe finds no usable key and says why.
      yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(master) })
      const ready = yield* call(url, "/ready").pipe(
        Effect.repeat({ schedule: Schedule.identity<Reply>().pipe(Schedule.addDelay(() => "100 millis")), until: (r) => r.text.includes("openai#0"), times: 50 })
      )
      assert.include(ready.text, "openai#0", "/ready says why the OpenAI model is out")
      const health = yield* call(url, "/admin/health", { headers: bearer(master) })
      assert.include(health.text, "openai#0")
      assertNoEcho({ ready: ready.text, health: health.text, logs: lines.join("\n") })
    }), { timeout: 30_000 })
})
