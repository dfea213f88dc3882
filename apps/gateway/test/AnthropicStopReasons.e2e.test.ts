/**
 * Claude's stop reasons as the client gets them (PROVIDERS.md §5), whole
 * and streamed: `refusal` is `content_filter`, answered as it came (an empty
 * refusal too: the model's verdict, not a failure to fail over from), billed
 * and never cached; `model_context_window_exceeded` is `length` (the
 * output filled the context window), cached like any `length` answer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { post } from "./support/FourProviderStack.js"
import { chunksOf, json, type Raw, reassemble, serveRaw } from "./support/RawProviders.js"

const usage = { input_tokens: 12, output_tokens: 4 }
const named = (event: string, value: Record<string, unknown>) => `event: ${event}\ndata: ${JSON.stringify({ type: event, ...value })}\n\n`
const complete = (stop: string, text: string): Raw =>
  json({
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "claude-haiku-4-5",
    content: text === "" ? [] : [{ type: "text", text }],
    stop_reason: stop,
    stop_sequence: null,
    usage
  })
const streamed = (stop: string, text: string): Raw => ({
  contentType: "text/event-stream",
  body: [
    named("message_start", { message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } }),
    ...(text === "" ? [] : [
      named("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      named("content_block_delta", { index: 0, delta: { type: "text_delta", text } }),
      named("content_block_stop", { index: 0 })
    ]),
    named("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 4 } }),
    named("message_stop", {})
  ].join("")
})
const ask = (question: string, stream: boolean) => ({ model: "claude", temperature: 0, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: [{ role: "user", content: question }] })

/** The finish reason, text and usage the client got. */
const answerOf = (text: string, stream: boolean) => {
  if (!stream) {
    const body = JSON.parse(text)
    return { finish: body.choices[0].finish_reason, content: body.choices[0].message.content, tokens: body.usage?.total_tokens }
  }
  const chunks = chunksOf(text)
  const choice = reassemble(chunks).get(0)
  return { finish: choice?.finish, content: choice?.content, tokens: chunks.find((c) => c.usage != null)?.usage.total_tokens }
}

describe("Anthropic stop reasons through the gateway", () => {
  it.scopedLive("a refusal, empty or not, is content_filter, answered as it came, billed, and asked again", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ cache: { enabled: true } })
      for (const stream of [false, true]) {
        for (const text of ["", "I can't help with that."]) {
          const answer = stream ? streamed : complete
          s.anthropic.script(answer("refusal", text), answer("end_turn", "Sure."))
          const question = `refused ${stream} ${text.length}`
          const refused = yield* post(s.url, ask(question, stream))
          assert.strictEqual(refused.status, 200, refused.text)
          assert.deepStrictEqual(answerOf(refused.text, stream), { finish: "content_filter", content: text, tokens: 16 }, `stream ${stream}`)
          const again = yield* post(s.url, ask(question, stream))
          assert.strictEqual(again.headers.get("x-modelgate-cache"), "miss", `stream ${stream}: a refusal was replayed from the cache`)
          assert.strictEqual(answerOf(again.text, stream).finish, "stop")
        }
      }
      // Not failed over: the refusal is the answer.
      assert.lengthOf(s.ollama.requests, 0)
      assert.lengthOf(s.anthropic.requests, 8)
    }), { timeout: 60_000 })

  it.scopedLive("model_context_window_exceeded is length, and cached as length is", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ cache: { enabled: true } })
      for (const stream of [false, true]) {
        s.anthropic.script((stream ? streamed : complete)("model_context_window_exceeded", "The answer was"))
        const cut = yield* post(s.url, ask(`full ${stream}`, stream))
        assert.deepStrictEqual(answerOf(cut.text, stream), { finish: "length", content: "The answer was", tokens: 16 }, `stream ${stream}`)
        const again = yield* post(s.url, ask(`full ${stream}`, stream))
        assert.strictEqual(again.headers.get("x-modelgate-cache"), "hit", `stream ${stream}`)
      }
      assert.lengthOf(s.anthropic.requests, 2)
    }), { timeout: 60_000 })
})
