/**
 * End to end over real sockets: the HTTP app on GatewayLive, the provider a
 * testkit fake that cuts its stream after three chunks. The client must see an
 * error, never a clean end: the official `openai` client throws, and the raw
 * SSE body has an error event and no `data: [DONE]`.
 */
import { HttpServer } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Context, Effect, Either, Layer } from "effect"
import OpenAI from "openai"
import * as HttpApp from "../src/HttpApp.js"
import { postOpening } from "./support/RawProviders.js"
import { twoModels } from "./support/Registry.js"

const registry = twoModels("stream cut test", { openai: { rpm: 500, tpm: 2_000_000 }, anthropic: { rpm: 50, tpm: 50000 } })

/** The fakes, a temp config directory and the HTTP app on GatewayLive, listening on a free port. */
const serveOverFakes = Effect.gen(function* () {
  const { anthropic, configProvider, dir, openai } = yield* FakeStackConfig.make({
    prefix: "modelgate-cut-",
    gateway: { cache: { enabled: false }, failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 } },
    models: registry
  })
  const live = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(Layer.provide(Layer.setConfigProvider(configProvider)))
  const context = yield* Layer.build(HttpApp.serve({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(live)))
  const address = Context.get(context, HttpServer.HttpServer).address
  const port = address._tag === "TcpAddress" ? address.port : 0
  return { openai, anthropic, url: `http://127.0.0.1:${port}` }
})

const streamBody = (content: string) => ({
  model: "gpt-4o-mini",
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "user", content }]
})

describe("a stream cut mid-way, end to end", () => {
  it.scopedLive("the openai client throws instead of ending cleanly; the SSE body ends with an error event, no [DONE]", () =>
    Effect.gen(function* () {
      const s = yield* serveOverFakes

      // control: an intact stream ends cleanly with [DONE]
      const intact = yield* Effect.promise(() =>
        fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(streamBody("all of it please")) })
          .then((r) => r.text())
      )
      assert.isTrue(intact.split("\n").some((l) => l.trim() === "data: [DONE]"))
      assert.notInclude(intact, "data: {\"error\"")

      // the official client, streaming: the cut must surface as an error (the cut comes once the client
      // has the first text: in the same read as it, the gateway would fail over instead)
      const later = yield* Effect.makeLatch(false)
      yield* s.openai.script(Fault.cut(3, later))
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "unused", maxRetries: 0 })
      const received: Array<string> = []
      const outcome = yield* Effect.either(
        Effect.tryPromise({
          try: async () => {
            const stream = await client.chat.completions.create({
              model: "gpt-4o-mini",
              stream: true,
              messages: [{ role: "user", content: "please stream a longer answer to me" }]
            })
            for await (const part of stream) {
              received.push(part.choices[0]?.delta.content ?? "")
              if (received.join("") !== "") Effect.runSync(later.open)
            }
            return received
          },
          catch: (e) => e
        })
      )
      assert.isTrue(Either.isLeft(outcome), `the stream ended cleanly after ${JSON.stringify(received)}`)
      if (Either.isLeft(outcome)) {
        assert.instanceOf(outcome.left, OpenAI.APIError)
        assert.match(String((outcome.left as InstanceType<typeof OpenAI.APIError>).message), /stream|interrupt|ended/i)
      }
      // the first bytes had been sent, so the gateway did not fail over
      assert.isAbove(received.join("").length, 0)
      assert.strictEqual((yield* s.anthropic.requests).length, 0)

      // the raw SSE body of a cut stream
      const rawLater = yield* Effect.makeLatch(false)
      yield* s.openai.script(Fault.cut(3, rawLater))
      const raw = yield* postOpening(s.url, streamBody("please stream a longer answer again"), "Echo", () => Effect.runSync(rawLater.open))
      assert.strictEqual(raw.status, 200)
      assert.include(raw.headers.get("content-type") ?? "", "text/event-stream")
      const lines = raw.text.split("\n").filter((l) => l.startsWith("data: "))
      assert.isAbove(lines.length, 1)
      // (the error's message may quote "data: [DONE]"; no event may be it)
      assert.isFalse(lines.some((l) => l.trim() === "data: [DONE]"))
      const last = lines[lines.length - 1]!
      assert.isTrue(last.startsWith("data: {\"error\""), `last event: ${last}`)
      const error = JSON.parse(last.slice("data: ".length)) as { error: { message: string; type: string } }
      assert.isString(error.error.message)
      assert.isString(error.error.type)
      assert.strictEqual((yield* s.anthropic.requests).length, 0)
    }), 20_000)
})
