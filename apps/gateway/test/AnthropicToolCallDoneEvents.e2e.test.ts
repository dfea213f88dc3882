/**
 * The official `openai` client's stream helper reports each streamed tool
 * call as done (`tool_calls.function.arguments.done`) when the next call
 * starts, and parses its arguments then when the tool is `strict`. Claude
 * streams a call without arguments (`input: {}`) as no argument text at
 * all; the gateway gave it its arguments "{}" only at `message_stop`, after
 * the calls that followed it. The helper then reported that call done with
 * arguments "" and, for a strict tool, threw (`JSON.parse("")`): a user
 * asking Claude through the gateway for a no-argument tool and then another
 * one got an error instead of the calls.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import { type Raw, serveRaw } from "./support/RawProviders.js"

const named = (event: string, value: unknown) => `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`
const toolBlock = (index: number, id: string, name: string, partials: ReadonlyArray<string>) =>
  named("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id, name, input: {} } }) +
  partials.map((partial_json) => named("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } })).join("") +
  named("content_block_stop", { type: "content_block_stop", index })

// As Claude streams it: the no-argument call first (an empty input_json_delta, or none), then a call with arguments.
const claudeCalls = (emptyDeltas: ReadonlyArray<string>): Raw => ({
  contentType: "text/event-stream",
  body: [
    named("message_start", { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude-haiku-4-5", content: [], usage: { input_tokens: 10, output_tokens: 1 } } }),
    toolBlock(0, "toolu_1", "get_time", emptyDeltas),
    toolBlock(1, "toolu_2", "get_weather", ["{\"city\":", "\"Paris\"}"]),
    named("message_delta", { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 12 } }),
    named("message_stop", { type: "message_stop" })
  ].join("")
})

const tools = (strict: boolean) => [
  { type: "function" as const, function: { name: "get_time", strict, parameters: { type: "object", properties: {}, required: [], additionalProperties: false } } },
  {
    type: "function" as const,
    function: { name: "get_weather", strict, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false } }
  }
]

describe("Claude's streamed tool calls through the openai client's stream helper", () => {
  it.scopedLive("a no-argument call, then another: each is reported done with its whole arguments; strict tools parse", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw()
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "unused", maxRetries: 0 })
      // The no-argument call with an empty input_json_delta, or with none; tools plain and strict.
      for (const emptyDeltas of [[""], []]) {
        for (const strict of [false, true]) {
          const label = `${emptyDeltas.length} empty deltas, strict ${strict}`
          s.anthropic.script(claudeCalls(emptyDeltas))
          const done: Array<[number, string, string]> = []
          const final = yield* Effect.promise(() => {
            const stream = client.chat.completions.stream({ model: "claude", tools: tools(strict), messages: [{ role: "user", content: "time, and weather in Paris?" }] })
            stream.on("tool_calls.function.arguments.done", (e) => done.push([e.index, e.name, e.arguments]))
            return stream.finalChatCompletion().then((c) => c, (e: unknown) => String(e))
          })
          assert.deepStrictEqual(done, [[0, "get_time", "{}"], [1, "get_weather", "{\"city\":\"Paris\"}"]], label)
          if (typeof final === "string") assert.fail(`${label}: ${final}`)
          const calls = (final.choices[0]?.message.tool_calls ?? []).map((c) => c.type === "function" ? c.function : undefined)
          assert.deepStrictEqual(calls.map((c) => c?.arguments), ["{}", "{\"city\":\"Paris\"}"], label)
          if (strict) assert.deepStrictEqual(calls.map((c) => c?.parsed_arguments), [{}, { city: "Paris" }], label)
        }
      }
    }))
})
