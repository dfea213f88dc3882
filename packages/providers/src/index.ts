/**
 * @modelgate/providers: `Provider` adapters on `@effect/platform`'s HttpClient.
 * Each module exports `make(getConfig)` building its adapter.
 */
export * as Ollama from "./Ollama.js"
export * as OpenAi from "./OpenAi.js"
