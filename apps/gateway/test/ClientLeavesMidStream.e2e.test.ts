/**
 * A client that leaves mid-stream, any of the four providers, end to end
 * over real sockets: the upstream request is aborted (its connection
 * closed), what the provider began is charged once, and the provider's
 * concurrency permit is given back (with `maxConcurrency: 1` the next
 * request is served, not queued behind the departed one).
 */
import { assert, describe, it } from "@effect/vitest"
import * as LoopbackServer from "@modelgate/testkit/LoopbackServer"
import { Effect } from "effect"
import { events, post, rows, serveAll, waitUntil } from "./support/FourProviderStack.js"

const sse = (value: unknown, event?: string) => `${event === undefined ? "" : `event: ${event}\n`}data: ${JSON.stringify(value)}\n\n`
const oaChunk = (delta: unknown, finish: string | null = null) =>
  sse({ id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })
const gemini = (text: string, finish?: string) =>
  sse({ candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0, ...(finish === undefined ? {} : { finishReason: finish }) }], usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 1, totalTokenCount: 6 }, responseId: "r" })
const ollama = (content: string, done = false) =>
  JSON.stringify({ model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content }, done, ...(done ? { done_reason: "stop", prompt_eval_count: 5, eval_count: 1 } : {}) }) + "\n"

/** Per model: the content type, the opening of its stream (some of the answer), and the rest that completes it. */
const streams: Record<string, { readonly type: string; readonly first: string; readonly rest: string }> = {
  gpt: { type: "text/event-stream", first: oaChunk({ role: "assistant", content: "Hello" }), rest: oaChunk({}, "stop") + "data: [DONE]\n\n" },
  claude: {
    type: "text/event-stream",
    first: sse({ type: "message_start", message: { id: "m", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 5, output_tokens: 1 } } }, "message_start") +
      sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } }, "content_block_delta"),
    rest: sse({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 2 } }, "message_delta") + sse({ type: "message_stop" }, "message_stop")
  },
  gemini: { type: "text/event-stream", first: gemini("Hello"), rest: gemini("", "STOP") },
  llama: { type: "application/x-ndjson", first: ollama("Hello"), rest: ollama("", true) }
}

/** The models whose provider opened its first stream. */
const quiet = new Set<string>()

/** A provider that opens its first stream and then goes quiet; later streams it answers whole. */
const quietFirst = (model: string) =>
  LoopbackServer.make((_request, res) => {
    const stream = streams[model]!
    res.writeHead(200, { "content-type": stream.type })
    if (quiet.has(model)) res.end(stream.first + stream.rest)
    else {
      quiet.add(model)
      res.write(stream.first)
    }
  })

describe("A client that leaves mid-stream", () => {
  it.scopedLive("aborts the upstream, is charged once, and gives the provider's permit back", () =>
    Effect.gen(function* () {
      const [gpt, claude, gem, llama] = yield* Effect.all(["gpt", "claude", "gemini", "llama"].map(quietFirst))
      const provider = (baseUrl: string) => ({ baseUrl, maxRetries: 0, timeoutMs: 5_000, maxConcurrency: 1 })
      const s = yield* serveAll({
        providers: { openai: provider(`${gpt!.url}/v1`), anthropic: provider(claude!.url), google: provider(gem!.url), ollama: provider(llama!.url) }
      })
      const upstreams: Record<string, LoopbackServer.LoopbackServer> = { gpt: gpt!, claude: claude!, gemini: gem!, llama: llama! }
      for (const model of Object.keys(streams)) {
        const first = yield* Effect.promise(async () => {
          const controller = new AbortController()
          const r = await fetch(`${s.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-request-id": `leave-${model}` },
            body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "hi" }] }),
            signal: controller.signal
          })
          const read = await r.body!.getReader().read()
          controller.abort()
          return new TextDecoder().decode(read.value)
        })
        assert.include(first, "Hello")
        assert.strictEqual(yield* upstreams[model]!.closed(1), "closed", `${model}: the upstream request was not aborted`)
        const next = yield* post(s.url, { model, stream: true, messages: [{ role: "user", content: "again" }] })
        assert.strictEqual(next.headers.get("x-modelgate-model"), model)
        assert.strictEqual(events(next.text).pop(), "[DONE]", `${model}: ${next.text}`)
      }
      const costs = yield* waitUntil(
        () => rows<{ request_id: string; completion_tokens: number }>(s.db, "SELECT request_id, completion_tokens FROM cost_records WHERE request_id LIKE 'leave-%'"),
        (r) => r.length >= 4
      )
      assert.deepStrictEqual(costs.map((c) => c.request_id).sort(), ["leave-claude", "leave-gemini", "leave-gpt", "leave-llama"])
      assert.isTrue(costs.every((c) => c.completion_tokens >= 1), JSON.stringify(costs))
    }), 30_000)
})
