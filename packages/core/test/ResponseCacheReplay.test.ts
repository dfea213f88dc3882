import { assert, describe, it } from "@effect/vitest"
import { replay, replayChunks } from "@modelgate/core/ResponseCache"
import { ChatChunk, type ChatResponse } from "@modelgate/domain/Chat"
import { Chunk, Effect, Schema, Stream } from "effect"
import * as fc from "fast-check"
import { response } from "./ResponseCacheFixtures.js"

const withTools: ChatResponse = {
  ...response(""),
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: "{\"city\":\"Paris\"}" } },
          { id: "call_2", type: "function", function: { name: "time", arguments: "{}" } }
        ]
      },
      finish_reason: "tool_calls"
    }
  ]
}

describe("replay", () => {
  it.effect("streams role, content, finish and usage chunks that decode as OpenAI chunks", () =>
    Effect.gen(function* () {
      const answer = response("Paris is the capital of France.")
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(replay(answer, { chunkSize: 8 })))
      for (const chunk of chunks) Schema.decodeUnknownSync(ChatChunk)(chunk)
      assert.deepStrictEqual(chunks[0]?.choices[0]?.delta, { role: "assistant", content: "" })
      const content = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? "")).join("")
      assert.strictEqual(content, "Paris is the capital of France.")
      const finish = chunks.at(-2)
      assert.strictEqual(finish?.choices[0]?.finish_reason, "stop")
      const usage = chunks.at(-1)
      assert.deepStrictEqual(usage?.choices, [])
      assert.deepStrictEqual(usage?.usage, answer.usage)
      assert.isTrue(chunks.every((chunk) => chunk.id === answer.id && chunk.model === answer.model))
      assert.strictEqual(replayChunks(answer, { includeUsage: false }).at(-1)?.choices[0]?.finish_reason, "stop")
    }))

  it("replays tool calls as indexed deltas and finishes with tool_calls", () => {
    const chunks = replayChunks(withTools)
    const deltas = chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => choice.delta.tool_calls ?? []))
    assert.deepStrictEqual(deltas, [
      { index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "{\"city\":\"Paris\"}" } },
      { index: 1, id: "call_2", type: "function", function: { name: "time", arguments: "{}" } }
    ])
    assert.strictEqual(chunks.at(-2)?.choices[0]?.finish_reason, "tool_calls")
  })

  it("reassembles to the original content for any text and chunk size (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (text, chunkSize) => {
        const chunks = replayChunks(response(text), { chunkSize })
        const pieces = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? ""))
        assert.strictEqual(pieces.join(""), text)
        for (const piece of pieces) assert.isAtMost(Array.from(piece).length, chunkSize)
      }),
      { numRuns: 200 }
    )
  })
})
