/**
 * A tool call without arguments. Anthropic streams a tool_use block
 * whose input is `{}` as a content_block_start (`input: {}`) followed by an
 * empty `input_json_delta` (or none). The complete answer turns that input
 * into the arguments string "{}"; the streamed answer must too: "" is not
 * JSON, and OpenAI clients `JSON.parse` the assembled arguments.
 */
import type { Sse } from "@effect/experimental"
import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { ChatChunk } from "@modelgate/domain/Chat"
import { Either } from "effect"
import { fromAnthropicResponse } from "../src/Anthropic/Response.js"
import { AnthropicStreamTranslator } from "../src/Anthropic/Stream.js"

const info = { model: "claude-test", keyId: "anthropic#1", secrets: [] }

const event = (type: string, data: Record<string, unknown>): Sse.Event => ({ _tag: "Event", event: type, id: undefined, data: JSON.stringify({ type, ...data }) })

const run = (events: ReadonlyArray<Sse.Event>): Array<ChatChunk> => {
  const t = new AnthropicStreamTranslator({ provider: "anthropic", info, meta: { status: 200, headers: Headers.empty, requestId: "req_1", rateLimit: undefined }, nowMs: 5_000 }, 5)
  const out: Array<ChatChunk> = []
  for (const e of events) {
    const r = t.push(e)
    if (Either.isLeft(r)) throw new Error(r.left.message)
    out.push(...r.right)
  }
  const end = t.end()
  if (Either.isLeft(end)) throw new Error(end.left.message)
  return [...out, ...end.right]
}

/** Arguments per tool-call index, assembled as an OpenAI client does. */
const assembled = (chunks: ReadonlyArray<ChatChunk>) => {
  const args = new Map<number, string>()
  for (const c of chunks) for (const ch of c.choices) for (const t of ch.delta.tool_calls ?? []) args.set(t.index, (args.get(t.index) ?? "") + (t.function?.arguments ?? ""))
  return args
}

describe("Anthropic streamed tool call without arguments", () => {
  for (const [name, deltas] of [["an empty input_json_delta", [""]], ["no input_json_delta", []]] as const) {
    it(`${name}: arguments "{}" as in the complete answer, and valid JSON`, () => {
      const chunks = run([
        event("message_start", { message: { id: "msg_1", model: "claude-x", usage: { input_tokens: 10, output_tokens: 1 } } }),
        event("content_block_start", { index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "get_time", input: {} } }),
        ...deltas.map((partial_json) => event("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json } })),
        event("content_block_stop", { index: 0 }),
        event("content_block_start", { index: 1, content_block: { type: "tool_use", id: "toolu_2", name: "get_weather", input: {} } }),
        event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: "{\"city\":" } }),
        event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: "\"Paris\"}" } }),
        event("content_block_stop", { index: 1 }),
        event("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 12 } }),
        event("message_stop", {})
      ])
      const complete = fromAnthropicResponse({
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: "claude-x",
        content: [{ type: "tool_use", id: "toolu_1", name: "get_time", input: {} }, { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Paris" } }],
        stop_reason: "tool_use",
        usage: { input_tokens: 10, output_tokens: 12 }
      } as never, 5_000)
      const args = assembled(chunks)
      assert.strictEqual(args.get(1), "{\"city\":\"Paris\"}")
      assert.isTrue("response" in complete)
      const calls = "response" in complete ? complete.response.choices[0]!.message.tool_calls ?? [] : []
      assert.strictEqual(calls[0]?.function.arguments, "{}")
      // streamed as answered whole: valid JSON, the same string
      assert.strictEqual(args.get(0), calls[0]?.function.arguments, `streamed arguments ${JSON.stringify(args.get(0))}`)
      // the finish is still last but for the usage chunk
      const finishAt = chunks.findIndex((c) => c.choices.some((ch) => ch.finish_reason === "tool_calls"))
      assert.strictEqual(finishAt, chunks.length - 2)
    })
  }
})
