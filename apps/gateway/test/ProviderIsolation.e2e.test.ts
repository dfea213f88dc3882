/**
 * A provider that stops answering (accepts connections, never answers) under
 * more requests than its `maxConcurrency`, end to end over real sockets: once
 * health marks its model unavailable, the requests still waiting for one of
 * its permits fail over at once (here to the model's fallback) instead of
 * each taking a permit in turn and waiting out the provider's timeout again.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Clock, Effect } from "effect"
import { post, serveAll } from "./support/FourProviderStack.js"

const live = Clock.make()
const chat = (model: string) => ({ model, max_tokens: 20, messages: [{ role: "user", content: "hi" }] })

const timed = <A, E, R>(e: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = live.unsafeCurrentTimeMillis()
    const a = yield* e
    return { ...a, ms: live.unsafeCurrentTimeMillis() - start }
  })

describe("provider isolation", () => {
  it.scopedLive("requests queued on a silent provider's permits fail over once its model is down, not after a timeout each", () =>
    Effect.gen(function* () {
      const silent = yield* LoopbackServer.make(() => {})
      const ollama = yield* FakeOllama.make()
      const provider = (baseUrl: string) => ({ baseUrl, maxRetries: 0, timeoutMs: 300, maxConcurrency: 2 })
      const s = yield* serveAll({
        providers: { openai: provider(silent.url), anthropic: provider(silent.url), google: provider(silent.url), ollama: { baseUrl: ollama.url, maxRetries: 0, timeoutMs: 5_000 } },
        healthCheck: { enabled: false, failureThreshold: 2 }
      })
      const answers = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) => timed(post(s.url, chat("gpt"), { "x-request-id": `q-${i}` }))),
        { concurrency: "unbounded" }
      )
      const slowest = Math.max(...answers.map((a) => a.ms))
      assert.deepStrictEqual(answers.map((a) => a.status), answers.map(() => 200), answers.map((a) => a.text).join("\n"))
      // Waiting out the timeout on each permit in turn sends all 20 (10 rounds of 300 ms); failing over at once
      // sends only those that took a permit before gpt was down. The count, not the time, is asserted.
      assert.isBelow(silent.requests.length, 10, `calls still waiting for a permit once gpt was down were sent (slowest answer after ${slowest} ms)`)
    }), 30_000)
})
