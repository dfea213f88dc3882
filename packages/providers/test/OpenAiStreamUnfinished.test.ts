/**
 * An OpenAI stream is complete when every choice it carried got its
 * `finish_reason` and then `data: [DONE]` came (or the body ended there:
 * OpenAiCompatibleServers.test.ts). `[DONE]` after a choice that
 * never finished (an upstream or proxy that gave up mid-answer and closed
 * the stream politely) is a broken stream, StreamInterrupted, as the other
 * adapters treat a stream without its stop reason (Anthropic's
 * `message_stop` without `stop_reason`, Gemini without `finishReason`,
 * Ollama's `done` without `done_reason`); before the fix it ended cleanly
 * and the client got a truncated answer ending with `[DONE]`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenAi from "../src/OpenAi.js"
import { collect, ctxOf, keyOf, live, modelOf, textOf } from "./internal/fixtures.js"
import { rawAdapter, sse } from "./internal/rawUpstream.js"

const chunk = (index: number, delta: unknown, finish: string | null = null) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index, delta, finish_reason: finish }]
})
const usage = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }
const ctx = ctxOf(modelOf("openai", "gpt-4o-mini"), keyOf("openai", "sk-test"))
const streamed = (events: ReadonlyArray<unknown>) => ({ headers: { "content-type": "text/event-stream" }, body: sse(events) })
const run = (events: ReadonlyArray<unknown>) =>
  Effect.flatMap(rawAdapter(OpenAi.make, [streamed(events)]), ({ provider }) => Effect.flatMap(provider.stream(ctx), (r) => collect(r.chunks)))
/** The class of the error the stream of `events` fails with. */
const failedWith = (events: ReadonlyArray<unknown>) => Effect.map(Effect.flip(run(events)), (e) => e._tag)

describe("OpenAI stream ending at [DONE] without a finish_reason", () => {
  it.scopedLive("a finished choice, then [DONE]: the complete answer", () =>
    live(Effect.gen(function*() {
      const chunks = yield* run([chunk(0, { role: "assistant", content: "" }), chunk(0, { content: "Hello" }), chunk(0, {}, "stop"), usage, "[DONE]"])
      assert.strictEqual(textOf(chunks), "Hello")
    })))

  it.scopedLive("[DONE] while the choice had no finish_reason: StreamInterrupted", () =>
    live(Effect.gen(function*() {
      assert.strictEqual(yield* failedWith([chunk(0, { role: "assistant", content: "" }), chunk(0, { content: "Hel" }), usage, "[DONE]"]), "StreamInterrupted")
    })))

  it.scopedLive("n = 2, [DONE] after only one choice finished: StreamInterrupted", () =>
    live(Effect.gen(function*() {
      const events = [chunk(0, { role: "assistant", content: "A" }), chunk(1, { role: "assistant", content: "B" }), chunk(0, {}, "stop"), usage, "[DONE]"]
      assert.strictEqual(yield* failedWith(events), "StreamInterrupted")
      const finished = [...events.slice(0, 3), chunk(1, {}, "length"), usage, "[DONE]"]
      assert.lengthOf(yield* run(finished), 5)
    })))

  it.scopedLive("[DONE] before any choice: StreamInterrupted (nothing was answered)", () =>
    live(Effect.gen(function*() {
      assert.strictEqual(yield* failedWith(["[DONE]"]), "StreamInterrupted")
    })))
})
