/**
 * What each adapter cannot serve (`Provider.cannotServe`): a request for more
 * than one choice is refused by the providers that answer one (Anthropic,
 * Ollama) and served by those that return several (OpenAI `n`, Gemini
 * `candidateCount`).
 */
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { Provider } from "@modelgate/core/Provider"
import type { ChatRequest } from "@modelgate/domain/Chat"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Anthropic from "../src/Anthropic.js"
import * as Google from "../src/Google.js"
import * as Ollama from "../src/Ollama.js"
import * as OpenAi from "../src/OpenAi.js"
import { live } from "./internal/fixtures.js"

const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: "m", messages: [{ role: "user", content: "hi" }], ...extra })
const config = Effect.succeed(ProviderConfig.make({ baseUrl: "http://127.0.0.1:1" }))
const refusal = (provider: Provider, extra: Partial<ChatRequest>) => provider.cannotServe?.(request(extra))

describe("Provider.cannotServe", () => {
  it.scoped("n above 1: refused by Anthropic and Ollama naming the field, served by OpenAI and Gemini; n 1, null or absent by all", () =>
    live(Effect.gen(function*() {
      const adapters = {
        openai: yield* OpenAi.make(config),
        anthropic: yield* Anthropic.make(config),
        google: yield* Google.make(config),
        ollama: yield* Ollama.make(config)
      }
      for (const id of ["anthropic", "ollama"] as const) {
        assert.deepStrictEqual(refusal(adapters[id], { n: 3 }), { param: "n", reason: `${id} answers one choice per request (n=3 asked)` })
      }
      for (const id of ["openai", "google"] as const) assert.isUndefined(refusal(adapters[id], { n: 3 }), id)
      for (const adapter of Object.values(adapters)) {
        for (const n of [1, null, undefined]) {
          assert.isUndefined(refusal(adapter, n === undefined ? {} : { n }), `${adapter.id} n=${n}`)
        }
      }
    })))
})
