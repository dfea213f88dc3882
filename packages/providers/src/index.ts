/**
 * @modelgate/providers: `Provider` adapters on `@effect/platform`'s HttpClient.
 * Each module exports `make(getConfig)` building its adapter.
 */
export * as Anthropic from "./Anthropic.js"
export * as Google from "./Google.js"
export * as Ollama from "./Ollama.js"
export * as OpenAi from "./OpenAi.js"
export * as ScopedClient from "./ScopedClient.js"
