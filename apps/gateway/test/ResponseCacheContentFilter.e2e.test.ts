/**
 * An answer a provider's content filter stopped (`finish_reason:
 * "content_filter"`, on any choice) is not cached: the filter's verdict may
 * be transient (a filter update, a flaky classifier), and a cached one would
 * be replayed to every later asker for the whole TTL. An answer cut by the
 * token limit (`length`) is what the same `max_tokens` gives again: cached.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { post } from "./support/FourProviderStack.js"
import { json, openaiSse, serveRaw } from "./support/RawProviders.js"

const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 }
const complete = (finish: string) =>
  json({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: "Hello", refusal: null }, logprobs: null, finish_reason: finish }],
    usage
  })
const streamed = (finish: string) =>
  openaiSse([
    { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta: { role: "assistant", content: "Hello" }, finish_reason: null }] },
    { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta: {}, finish_reason: finish }] },
    { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [], usage }
  ])
const ask = (question: string, stream = false) => ({ model: "gpt", temperature: 0, max_tokens: 3, stream, messages: [{ role: "user", content: question }] })

describe("response cache and the finish reason", () => {
  it.scopedLive("a content_filter answer is asked again, a length one is a hit", () =>
    Effect.gen(function* () {
      const s = yield* serveRaw({ cache: { enabled: true } })
      for (const stream of [false, true]) {
        const answer = stream ? streamed : complete
        s.openai.script(answer("content_filter"), answer("stop"))
        const filtered = yield* post(s.url, ask(`filtered ${stream}`, stream))
        assert.strictEqual(filtered.status, 200, filtered.text)
        assert.include(filtered.text, "content_filter")
        const again = yield* post(s.url, ask(`filtered ${stream}`, stream))
        assert.strictEqual(again.headers.get("x-modelgate-cache"), "miss", `stream ${stream}: a filtered answer was replayed from the cache`)
        assert.notInclude(again.text, "content_filter")

        s.openai.script(answer("length"))
        const cut = yield* post(s.url, ask(`cut ${stream}`, stream))
        assert.include(cut.text, "\"length\"")
        const cutAgain = yield* post(s.url, ask(`cut ${stream}`, stream))
        assert.strictEqual(cutAgain.headers.get("x-modelgate-cache"), "hit", `stream ${stream}: a length answer is cached`)
      }
      assert.lengthOf(s.openai.requests, 6)
    }), { timeout: 30_000 })
})
