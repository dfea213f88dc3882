/**
 * A stream is complete at its provider's terminal event (OpenAI `data:
 * [DONE]`, Anthropic `message_stop`, Ollama `done: true`), whatever the
 * connection does after it: reset, or held open with nothing more. The client
 * gets the whole answer and `data: [DONE]` at once, and the call is recorded
 * as the success it was, its cost once. Before the fix an Anthropic stream
 * read on to the body's end: a reset after `message_stop` ended a complete
 * answer with an error event (recorded as a failed call), and a connection
 * held open made the client wait for the provider's timeout, then get an
 * error event too. (Gemini has no terminal event: its body's end is one.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { events, post, rows, waitUntil } from "./support/FourProviderStack.js"
import { type Raw, serveRaw, sseBody } from "./support/RawProviders.js"

const named = (event: string, value: unknown) => `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`
const anthropic = [
  named("message_start", { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 5, output_tokens: 1 } } }),
  named("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  named("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello there" } }),
  named("content_block_stop", { type: "content_block_stop", index: 0 }),
  named("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2 } }),
  named("message_stop", { type: "message_stop" })
].join("")
const oa = (delta: unknown, finish: string | null = null) => ({ id: "chatcmpl-x", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })
const openai = sseBody([
  oa({ role: "assistant", content: "" }),
  oa({ content: "Hello there" }),
  oa({}, "stop"),
  { id: "chatcmpl-x", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } },
  "[DONE]"
])
const ollama = [
  { model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content: "Hello there" }, done: false },
  { model: "llama3.2", created_at: "2025-01-01T00:00:00Z", message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 5, eval_count: 2 }
].map((l) => JSON.stringify(l) + "\n").join("")

type Provider = "openai" | "anthropic" | "ollama"
const cases: ReadonlyArray<{ readonly provider: Provider; readonly model: string; readonly answer: Raw }> = [
  { provider: "openai", model: "gpt", answer: { contentType: "text/event-stream", body: openai } },
  { provider: "anthropic", model: "claude", answer: { contentType: "text/event-stream", body: anthropic } },
  { provider: "ollama", model: "llama", answer: { contentType: "application/x-ndjson", body: ollama } }
]
const after = [["reset", { reset: true }], ["held open", { hold: true }]] as const

describe("A stream is complete at its terminal event", () => {
  it.scopedLive("a reset or a connection held open after it: the whole answer, [DONE], recorded as a success, its cost once", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ healthCheck: { enabled: false, failureThreshold: 100 } })
      const failures: Array<string> = []
      const ids: Array<string> = []
      for (const c of cases) {
        for (const [how, fault] of after) {
          const id = `${c.provider}-${how.replace(" ", "-")}`
          ids.push(id)
          s[c.provider].script({ ...c.answer, ...fault })
          const r = yield* post(s.url, { model: c.model, stream: true, messages: [{ role: "user", content: id }] }, { "x-request-id": id })
          const data = events(r.text)
          if (r.headers.get("x-modelgate-model") !== c.model) failures.push(`${id}: answered by ${r.headers.get("x-modelgate-model")}`)
          else if (data[data.length - 1] !== "[DONE]" || r.text.includes("\"error\"")) failures.push(`${id}: ended ${JSON.stringify(data[data.length - 1])}`)
          else if (!r.text.includes("Hello there")) failures.push(`${id}: the answer was not delivered`)
        }
      }
      assert.deepStrictEqual(failures, [])
      const perf = yield* waitUntil(
        () => rows<{ request_id: string; success: number }>(s.db, "SELECT request_id, success FROM performance_records"),
        (r) => r.length >= ids.length
      )
      assert.deepStrictEqual(ids.map((id) => perf.filter((p) => p.request_id === id).map((p) => p.success)), ids.map(() => [1]))
      const costs = rows<{ request_id: string }>(s.db, "SELECT request_id FROM cost_records")
      assert.deepStrictEqual(ids.map((id) => costs.filter((c) => c.request_id === id).length), ids.map(() => 1))
    }), 60_000)
})
