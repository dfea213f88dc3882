/**
 * The response cache answers a request the OpenAI API defines as the same
 * request alike: streamed or not (a complete answer is replayed as a stream,
 * a streamed one is cached complete), on `auto` as on a named model; `n: 1`
 * and no `n` (OpenAI's default is 1); `tool_choice: "auto"` and none when
 * tools are given, `"none"` and none when none are (OpenAI's defaults).
 * Each of these was a miss, and a second provider bill, before.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { post, serveAll } from "./support/FourProviderStack.js"

const ask = (model: string, question: number, extra: Record<string, unknown> = {}) => ({
  model,
  temperature: 0,
  messages: [{ role: "user", content: `question ${question}: what is the capital of France?` }],
  ...extra
})
const weather = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }]

const stack = Effect.gen(function* () {
  const s = yield* serveAll({ cache: { enabled: true } })
  const asked = Effect.map(
    Effect.all([s.openai.requests, s.anthropic.requests, s.google.requests, s.ollama.requests]),
    (all) => all.reduce((n, requests) => n + requests.length, 0)
  )
  /** `first` then `second`: the second must be a hit, the providers asked once. */
  const sameAnswer = (first: unknown, second: unknown, what: string) =>
    Effect.gen(function* () {
      const before = yield* asked
      const a = yield* post(s.url, first)
      assert.strictEqual(a.status, 200, a.text)
      assert.strictEqual(a.headers.get("x-modelgate-cache"), "miss", `${what}: the first is answered by a provider`)
      const b = yield* post(s.url, second)
      assert.strictEqual(b.status, 200, b.text)
      assert.strictEqual(b.headers.get("x-modelgate-cache"), "hit", `${what}: the same request is a hit`)
      assert.strictEqual((yield* asked) - before, 1, `${what}: the providers were asked once`)
    })
  return { sameAnswer }
})

describe("response cache: the same request, written differently", () => {
  it.scopedLive("streamed and not streamed, on auto and on a named model, either way round", () =>
    Effect.gen(function* () {
      const { sameAnswer } = yield* stack
      for (const model of ["auto", "gpt"]) {
        yield* sameAnswer(ask(model, 1), { ...ask(model, 1), stream: true }, `${model}: complete, then streamed`)
        yield* sameAnswer({ ...ask(model, 2), stream: true }, ask(model, 2), `${model}: streamed, then complete`)
      }
    }), { timeout: 30_000 })

  it.scopedLive("n: 1 and no n", () =>
    Effect.gen(function* () {
      const { sameAnswer } = yield* stack
      yield* sameAnswer(ask("gpt", 3), ask("gpt", 3, { n: 1 }), "no n, then n: 1")
      yield* sameAnswer(ask("auto", 4, { n: 1 }), ask("auto", 4), "auto: n: 1, then no n")
    }), { timeout: 30_000 })

  it.scopedLive("tool_choice auto and none with tools, none and none without", () =>
    Effect.gen(function* () {
      const { sameAnswer } = yield* stack
      yield* sameAnswer(ask("gpt", 5, { tools: weather }), ask("gpt", 5, { tools: weather, tool_choice: "auto" }), "tools: no tool_choice, then auto")
      yield* sameAnswer(ask("gpt", 6, { tool_choice: "none" }), ask("gpt", 6), "no tools: none, then no tool_choice")
    }), { timeout: 30_000 })
})
