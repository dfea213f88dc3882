/**
 * A provider base URL may carry credentials (`http://user:pass@proxy/v1`).
 * Neither HTTP client sends them (a request goes to the URL's origin and
 * path), but a library user's tracer saw them: the HTTP client span's
 * `url.full` quoted the URL whole. Every adapter calls the URL without them.
 */
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import * as Ollama from "../src/Ollama.js"
import * as OpenAi from "../src/OpenAi.js"
import { adapterOver, collect, ctxOf, keyOf, live, modelOf, withSpanCapture } from "./internal/fixtures.js"

const password = "Pr0xyS3cretPass"
const withCredentials = (url: string) => url.replace("://", `://proxyuser:${password}@`)

const adapters = [
  { name: "openai", setup: adapterOver(FakeOpenAi.make, OpenAi.make, (f) => withCredentials(f.baseUrl)), model: modelOf("openai", "gpt-4o-mini", "fast-chat"), key: keyOf("openai", "sk-test-openai") },
  { name: "anthropic", setup: adapterOver(FakeAnthropic.make, Anthropic.make, (f) => withCredentials(f.baseUrl)), model: modelOf("anthropic", "claude-haiku-4-5", "fast-chat"), key: keyOf("anthropic", FakeAnthropic.defaultApiKey) },
  { name: "google", setup: adapterOver(FakeGoogle.make, Google.make, (f) => withCredentials(f.baseUrl)), model: modelOf("google", "gemini-fake", "fast-chat"), key: keyOf("google", FakeGoogle.defaultApiKey) },
  { name: "ollama", setup: adapterOver(FakeOllama.make, Ollama.make, (f) => withCredentials(f.url)), model: modelOf("ollama", "llama3.2", "fast-chat"), key: undefined }
] as const

describe("Credentials in a provider base URL", () => {
  for (const adapter of adapters) {
    it.scoped(`${adapter.name}: calls, streams and probes work, and no HTTP client span holds the password`, () =>
      live(Effect.gen(function*() {
        const { provider } = yield* adapter.setup()
        const { attributes, result } = yield* withSpanCapture(Effect.all([
          provider.chat(ctxOf(adapter.model, adapter.key)),
          Effect.flatMap(provider.stream(ctxOf(adapter.model, adapter.key)), (r) => collect(r.chunks)),
          provider.probe(adapter.model, adapter.key)
        ]))
        assert.isTrue(result[2].ok, String(result[2].error?.message))
        assert.isTrue(attributes.some(([name]) => name === "url.full"), "the client spans were captured")
        assert.isFalse(attributes.some(([, value]) => String(value).includes(password)))
      })))
  }
})
