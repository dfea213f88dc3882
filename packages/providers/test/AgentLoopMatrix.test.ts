/**
 * An agent's tool loop across providers: two rounds answered by one
 * provider (its tool calls, ids and content as the gateway gave them to the
 * client; `call_0`: an upstream or client that reuses ids from one answer
 * to the next), then the next turn (the results out of order, as JSON, text
 * and text parts; an image, a system prompt, a developer note) answered by
 * each provider. Every pair goes over real sockets to the fakes, which
 * refuse what the real APIs refuse; every tool result must reach the last
 * provider, tied to its call.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Provider } from "@modelgate/core/Provider"
import type { ChatMessage, ChatRequest } from "@modelgate/domain/Chat"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import type { FakeServer } from "@modelgate/testkit/FakeServer"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import * as Ollama from "../src/Ollama.js"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, ctxOf, keyOf, lastJson, live, modelOf } from "./internal/fixtures.js"

const tools: ChatRequest["tools"] = [
  { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { zone: { type: "string" } } } } }
]

/** A 1x1 PNG. */
const png =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

const question: ReadonlyArray<ChatMessage> = [
  { role: "system", content: "You are a travel agent." },
  { role: "user", content: [{ type: "text", text: "Weather and time where this photo was taken (Paris)? get_weather" }, { type: "image_url", image_url: { url: png } }] }
]

/**
 * Two parallel calls, as each provider answers them in round `round` (Gemini's
 * by the fake itself: its signature must be one it gave). `call_0`: an
 * OpenAI-shaped upstream (or a client) that numbers the calls of each answer
 * from 0, so a later answer reuses an earlier one's ids; OpenAI takes that.
 */
const rawAnswers: Record<string, (round: number) => unknown> = {
  openai: (round) => openAiAnswer([`call_7Hn2kQ0aZbW${round}`, `call_9Xp4mR1cYdV${round}`]),
  "call_0": () => openAiAnswer(["call_0", "call_1"]),
  anthropic: (round) => ({
    id: `msg_0${round}`,
    type: "message",
    role: "assistant",
    model: "claude-fake-1",
    content: [
      { type: "text", text: "Let me check both." },
      { type: "tool_use", id: `toolu_0${round}A`, name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: `toolu_0${round}B`, name: "get_time", input: { zone: "CET" } }
    ],
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5 }
  }),
  ollama: () => ({
    model: "llama3.2",
    created_at: "2026-01-01T00:00:00Z",
    message: {
      role: "assistant",
      content: "",
      tool_calls: [
        { function: { name: "get_weather", arguments: { city: "Paris" } } },
        { function: { name: "get_time", arguments: { zone: "CET" } } }
      ]
    },
    done: true,
    done_reason: "stop",
    prompt_eval_count: 10,
    eval_count: 5
  })
}

function openAiAnswer(ids: readonly [string, string]) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "gpt-4o-mini",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: ids[0], type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } },
          { id: ids[1], type: "function", function: { name: "get_time", arguments: "{\"zone\":\"CET\"}" } }
        ]
      },
      finish_reason: "tool_calls"
    }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
  }
}

interface Seat {
  readonly name: string
  readonly fake: FakeServer
  readonly provider: Provider
  readonly ctx: (request: Partial<ChatRequest>) => ReturnType<typeof ctxOf>
}

/** A request of the conversation so far, with both tools. */
const turnOf = (messages: ReadonlyArray<ChatMessage>): Partial<ChatRequest> => ({ tools, messages: messages as ChatRequest["messages"] })

const seatsOf = Effect.gen(function*() {
  const openai = yield* adapterOver(FakeOpenAi.make, OpenAi.make, (fake) => fake.baseUrl)()
  const anthropic = yield* adapterOver(FakeAnthropic.make, Anthropic.make)()
  const google = yield* adapterOver(FakeGoogle.make, Google.make)()
  const ollama = yield* adapterOver(FakeOllama.make, Ollama.make)()
  const list: ReadonlyArray<Seat> = [
    { name: "openai", ...openai, ctx: (r) => ctxOf(modelOf("openai", "gpt-4o-mini"), keyOf("openai", "sk-test-openai"), r) },
    { name: "anthropic", ...anthropic, ctx: (r) => ctxOf(modelOf("anthropic", "claude-fake-1"), keyOf("anthropic", FakeAnthropic.defaultApiKey), r) },
    { name: "google", ...google, ctx: (r) => ctxOf(modelOf("google", "gemini-3-pro"), keyOf("google", FakeGoogle.defaultApiKey), r) },
    { name: "ollama", ...ollama, ctx: (r) => ctxOf(modelOf("ollama", "llama3.2"), undefined, r) }
  ]
  return list
})

/** An origin: the seat that answers the first rounds, and its answers (scripted, or the fake's own). */
interface Origin {
  readonly name: string
  readonly seat: Seat
}

const originsOf = (seats: ReadonlyArray<Seat>): ReadonlyArray<Origin> => [
  ...seats.map((seat) => ({ name: seat.name, seat })),
  { name: "call_0", seat: seats[0]! }
]

type Assistant = Extract<ChatMessage, { role: "assistant" }>

/** The assistant message `origin` answers `history` with, in round `round`, as the client gets it back. */
const answerOf = (origin: Origin, history: ReadonlyArray<ChatMessage>, round: number) =>
  Effect.gen(function*() {
    const raw = rawAnswers[origin.name]?.(round)
    if (raw !== undefined) yield* origin.seat.fake.script({ _tag: "Body", status: 200, body: JSON.stringify(raw), contentType: "application/json" })
    const answer = yield* origin.seat.provider.chat(origin.seat.ctx(turnOf(history)))
    const message = answer.response.choices[0].message
    assert.isAbove(message.tool_calls?.length ?? 0, 0, `${origin.name} answered with tool calls`)
    return message as Assistant
  })

/** Each tool's result in round `round`: JSON for the weather, plain text for the time. */
const resultOf = (name: string, round: number): string =>
  name === "get_weather" ? `{"temp_c":${18 + round},"sky":"cloudy"}` : `14:0${round} CET`

/** The results of an assistant's calls, in reverse order, the first as a string, the others as text parts. */
const resultsFor = (assistant: Assistant, round: number): ReadonlyArray<ChatMessage> =>
  [...assistant.tool_calls!].reverse().map((call, i): ChatMessage => ({
    role: "tool",
    tool_call_id: call.id,
    content: i === 0 ? resultOf(call.function.name, round) : [{ type: "text", text: resultOf(call.function.name, round) }]
  }))

/** The conversation after round `round`: the assistant's calls, their results, then `next`. */
const afterRound = (
  history: ReadonlyArray<ChatMessage>,
  assistant: Assistant,
  round: number,
  next: ReadonlyArray<ChatMessage>
): ReadonlyArray<ChatMessage> => [...history, assistant, ...resultsFor(assistant, round), ...next]

/** `name: result` for each tool result a provider was sent, read from its wire shape. */
const sentResults = (provider: string, body: Record<string, unknown>): Array<string> => {
  type Json = Record<string, unknown>
  const list = (value: unknown) => (Array.isArray(value) ? value as Array<Json> : [])
  const text = (content: unknown) => (typeof content === "string" ? content : list(content).map((p) => String(p["text"])).join(""))
  const out: Array<string> = []
  const names = new Map<unknown, unknown>()
  if (provider === "google") {
    for (const part of list(body["contents"]).flatMap((c) => list(c["parts"]))) {
      const response = part["functionResponse"] as { name: string; response: Json } | undefined
      if (response !== undefined) out.push(`${response.name}: ${response.response["output"] ?? JSON.stringify(response.response)}`)
    }
    return out.sort()
  }
  for (const message of list(body["messages"])) {
    if (provider === "anthropic") {
      for (const block of list(message["content"])) {
        if (block["type"] === "tool_use") names.set(block["id"], block["name"])
        if (block["type"] === "tool_result") out.push(`${names.get(block["tool_use_id"])}: ${text(block["content"])}`)
      }
      continue
    }
    for (const call of list(message["tool_calls"])) names.set(call["id"], (call["function"] as Json)["name"])
    if (message["role"] === "tool") {
      out.push(`${provider === "ollama" ? message["tool_name"] : names.get(message["tool_call_id"])}: ${text(message["content"])}`)
    }
  }
  return out.sort()
}

describe("an agent's conversation begun on one provider and continued on another", () => {
  it.scoped("every provider answers the third turn of a tool loop any provider began, with every tool result tied to its call", () =>
    live(Effect.gen(function*() {
      const seats = yield* seatsOf
      const failures: Array<string> = []
      for (const origin of originsOf(seats)) {
        for (const next of seats) {
          const first = yield* answerOf(origin, question, 1)
          const afterFirst = afterRound(question, first, 1, [
            { role: "assistant", content: "19C and cloudy; it is 14:01." },
            { role: "user", content: "And tomorrow? get_weather" }
          ])
          const second = yield* answerOf(origin, afterFirst, 2)
          const history = afterRound(afterFirst, second, 2, [
            { role: "developer", content: "Answer in one sentence." },
            { role: "user", content: "Thanks. What should I pack?" }
          ])
          const answer = yield* Effect.either(next.provider.chat(next.ctx(turnOf(history))))
          if (answer._tag === "Left") {
            failures.push(`${origin.name} -> ${next.name}: ${answer.left._tag} ${answer.left.message}`)
            continue
          }
          const sent = yield* lastJson(next.fake)
          const expected = [first, second].flatMap((a, i) => a.tool_calls!.map((c) => `${c.function.name}: ${resultOf(c.function.name, i + 1)}`)).sort()
          const got = sentResults(next.name, sent)
          if (JSON.stringify(got) !== JSON.stringify(expected)) failures.push(`${origin.name} -> ${next.name}: sent ${JSON.stringify(got)}`)
          if (!JSON.stringify(sent).includes("Answer in one sentence.")) failures.push(`${origin.name} -> ${next.name}: the developer note was not sent`)
        }
      }
      assert.deepStrictEqual(failures, [])
    })))
})
