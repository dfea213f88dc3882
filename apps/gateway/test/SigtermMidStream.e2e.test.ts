/**
 * SIGTERM while a stream is mid-way: within the grace the stream finishes
 * (its [DONE], its one cost row); past the grace the stream is cut, and the
 * client never sees a clean [DONE] on it. The process exits 0 either way.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Fault } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import { hangAfterMs, settles } from "./support/HangDetector.js"
import { costRows, ensureBuilt, serve, overFakes, unreachableProviders } from "./support/ServeProcess.js"

interface Streamed {
  readonly status: number
  readonly requestId: string | null
  readonly text: string
  readonly error: string | undefined
  readonly chunks: number
}

/** A streamed request; `onChunk` is called on the first data chunk. */
const stream = (url: string, onFirst: () => void): Promise<Streamed> =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "write a long answer please with many many words in it so it streams" }]
    })
  }).then(async (response) => {
    let text = ""
    let chunks = 0
    let error: string | undefined
    try {
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
        if (chunks++ === 0) onFirst()
      }
    } catch (e) {
      error = String(e)
    }
    return { status: response.status, requestId: response.headers.get("x-request-id"), text, error, chunks }
  })

const gatewayConfig = (graceMs: number) => ({
  providers: unreachableProviders(10 * hangAfterMs),
  server: { shutdownGraceMs: graceMs },
  healthCheck: { enabled: false },
  cache: { enabled: false },
  records: { flushIntervalMs: 50 }
})

describe("SIGTERM mid-stream", () => {
  beforeAll(ensureBuilt, 120_000)

  it.scopedLive("within the grace: the stream finishes with [DONE] and has one cost row; exit 0", () =>
    Effect.gen(function* () {
      const { anthropic, db, dir, openai } = yield* overFakes("modelgate-midstream-")
      const served = yield* serve({ dir, db, openaiUrl: openai.baseUrl, anthropicUrl: anthropic.url, gateway: gatewayConfig(10 * hangAfterMs) })
      yield* openai.persist(Fault.delay({ chunkMs: 100 }))
      const result = yield* settles("the stream", () => stream(served.url, () => served.child.kill("SIGTERM")), served.tail)
      const exit = yield* settles("the exit", () => served.exited, served.tail)
      assert.deepStrictEqual(exit, { code: 0, signal: null }, served.tail())
      assert.strictEqual(result.error, undefined)
      assert.isTrue(result.text.trimEnd().endsWith("data: [DONE]"), result.text.slice(-300))
      assert.strictEqual(costRows(db).get(result.requestId!), 1, served.tail())
    }), 10 * hangAfterMs)

  it.scopedLive("past the grace: the stream is cut without [DONE]; exit 0", () =>
    Effect.gen(function* () {
      const { anthropic, db, dir, openai } = yield* overFakes("modelgate-midstream-cut-")
      const served = yield* serve({ dir, db, openaiUrl: openai.baseUrl, anthropicUrl: anthropic.url, gateway: gatewayConfig(300) })
      yield* openai.persist(Fault.delay({ chunkMs: 400 }))
      const result = yield* settles("the stream", () => stream(served.url, () => served.child.kill("SIGTERM")), served.tail)
      const exit = yield* settles("the exit", () => served.exited, served.tail)
      assert.deepStrictEqual(exit, { code: 0, signal: null }, served.tail())
      assert.isFalse(result.text.includes("data: [DONE]"), `a cut stream ended with [DONE]:\n${result.text.slice(-500)}${served.tail()}`)
    }), 10 * hangAfterMs)
})
