/**
 * The chat request fast path answers exactly as the ChatRequest Schema does
 * (values and key order) whenever it answers at all, and it does answer for
 * the common shapes.
 */
import { assert, describe, it } from "@effect/vitest"
import { ChatRequest } from "@modelgate/domain/Chat"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import { decodeCommon } from "../src/http/ChatFast.js"

const decode = Schema.decodeUnknownEither(ChatRequest)

/** Holds `decodeCommon` to the Schema on one JSON body; true when the fast path answered. */
const agrees = (input: Record<string, unknown>): boolean => {
  const fast = decodeCommon(input)
  if (fast === undefined) return false
  const full = decode(input)
  assert.isTrue(Either.isRight(full), `the fast path accepted what the Schema refuses: ${JSON.stringify(input)}`)
  if (Either.isRight(full)) {
    assert.deepStrictEqual(fast, full.right)
    assert.strictEqual(JSON.stringify(fast), JSON.stringify(full.right), "same key order")
  }
  return true
}

const json = <A>(value: A): A => JSON.parse(JSON.stringify(value)) as A

/** Mostly one of `valid` (`undefined`: the key is absent once sent as JSON), sometimes one of `invalid`. */
const mostly = (valid: ReadonlyArray<unknown>, invalid: ReadonlyArray<unknown>) =>
  fc.oneof({ arbitrary: fc.constantFrom(undefined, ...valid), weight: 20 }, { arbitrary: fc.constantFrom(...invalid), weight: 1 })
/** Mostly one of `valid` (never absent), sometimes one of `invalid`. */
const required = (valid: ReadonlyArray<unknown>, invalid: ReadonlyArray<unknown>) =>
  fc.oneof({ arbitrary: fc.constantFrom(...valid), weight: 20 }, { arbitrary: fc.constantFrom(undefined, ...invalid), weight: 1 })
const toolCall = required(
  [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }, { type: "function", function: { arguments: "{}", name: "g" }, id: "c2" }],
  [{ id: "c3", type: "other", function: { name: "f", arguments: "{}" } }, { id: "c4", type: "function", function: { name: "f" } }, {
    id: "c5",
    type: "function",
    function: { name: "f", arguments: "{}", extra: 1 }
  }]
)
const text = ["hi", "", "Say hello."]
const message = required(["system", "developer", "user", "assistant", "tool"], ["robot", 1]).chain((role) =>
  fc.record({
    role: fc.constant(role),
    content: role === "assistant"
      ? mostly([...text, null], [3, [{ type: "text", text: "x" }]])
      : required(text, [null, 3, [{ type: "text", text: "x" }], [{ type: "image_url", image_url: { url: "https://x" } }]]),
    name: role === "tool" ? mostly([], ["n"]) : mostly(["n"], [1]),
    tool_call_id: role === "tool" ? required(["c1"], [2]) : mostly([], ["c1"]),
    tool_calls: role === "assistant" ? fc.oneof(fc.constant(undefined), fc.array(toolCall, { maxLength: 2 })) : mostly([], [[]]),
    refusal: role === "assistant" ? mostly([null, "no"], [1]) : mostly([], [null]),
    extra: mostly([], [1])
  }))
const body = fc.record({
  model: mostly(["gpt-4o-mini", "auto", "openai/gpt-4o"], [" x", "x ", "", 5]),
  messages: mostly([], [[], "hi"]).chain((bad) => (bad === undefined ? fc.array(message, { minLength: 1, maxLength: 4 }) : fc.constant(bad))),
  temperature: mostly([0, 0.7, 2, null], [2.5, -0.1, "1"]),
  top_p: mostly([0, 1, null], [1.5]),
  max_tokens: mostly([1, 100, null], [0, -1, 1.5]),
  max_completion_tokens: mostly([5, null], [0]),
  stream: mostly([true, false, null], ["yes"]),
  stream_options: mostly([{ include_usage: true }, {}, null], [{ include_usage: 1 }, { other: true }]),
  stop: mostly(["x", ["a", "b"], [], null], [[1], 1]),
  user: mostly(["u"], [1]),
  seed: mostly([1, -5, null], [1.5]),
  n: mostly([1, 2, null], [0]),
  frequency_penalty: mostly([-2, 2, null], [3]),
  presence_penalty: mostly([0, null], [-3]),
  logprobs: mostly([false, null], [true, 1]),
  top_logprobs: mostly([3, null], [1.5]),
  parallel_tool_calls: mostly([true], [null]),
  reasoning_effort: mostly(["low"], [1]),
  modelgate: mostly([{ priority: "LOW" }], ["anything"]),
  tools: mostly([], [[{ type: "function", function: { name: "f" } }]]),
  metadata: mostly([], [{ a: "b" }]),
  unknown_field: mostly([], [1])
})
/** The same keys in any order. */
const shuffled = body.map(json).chain((value) => {
  const keys = Object.keys(value)
  return fc.shuffledSubarray(keys, { minLength: keys.length, maxLength: keys.length }).map((order) =>
    Object.fromEntries(order.map((k) => [k, (value as Record<string, unknown>)[k]]))
  )
})

describe("chat request fast path", () => {
  it("answers as the Schema does, or leaves the body to it", () => {
    let answered = 0
    fc.assert(
      fc.property(shuffled, (input) => {
        if (agrees(input)) answered++
      }),
      { numRuns: 3_000 }
    )
    assert.isAbove(answered, 300, "many generated bodies take the fast path")
  })

  it("agrees with the Schema on every valid request the Schema can generate", () => {
    fc.assert(
      fc.property(Arbitrary.make(ChatRequest), (request) => {
        agrees(json(request) as unknown as Record<string, unknown>)
      }),
      { numRuns: 500 }
    )
  })

  it("takes the common shapes", () => {
    const common: ReadonlyArray<Record<string, unknown>> = [
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] },
      { model: "auto", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true }, modelgate: { priority: "HIGH" } },
      {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Weather?", name: "ann" },
          { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "c1", content: "sunny" }
        ],
        temperature: 0.2,
        max_tokens: 100,
        model: "openai/gpt-4o"
      }
    ]
    for (const input of common) assert.isTrue(agrees(input), JSON.stringify(input))
  })
})
