/** Shared fixtures of the ResponseCache tests. */
import * as CacheStore from "@modelgate/core/CacheStore"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import * as ResponseCache from "@modelgate/core/ResponseCache"
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer, Option, Schema } from "effect"

/** A configuration with these `cache` settings over the defaults. */
export const configWith = (cache: Record<string, unknown> = {}) =>
  Schema.decodeUnknownSync(GatewayConfigData)({ cache })

/** A cache over a shared memory store (both are in the context). */
export const cacheOverMemory = (cache: Record<string, unknown> = {}) =>
  ResponseCache.layer.pipe(
    Layer.provideMerge(CacheStore.layerMemory),
    Layer.provide(GatewayConfig.layerStatic(configWith(cache)))
  )

/** A cache over the given store double. */
export const cacheOver = (store: CacheStore.CacheStore["Type"], cache: Record<string, unknown> = {}) =>
  ResponseCache.layer.pipe(
    Layer.provide(Layer.succeed(CacheStore.CacheStore, store)),
    Layer.provide(GatewayConfig.layerStatic(configWith(cache)))
  )

/** A store where every operation fails, counting the calls. */
export const failingStore = () => {
  const calls = { count: 0 }
  const fail = (operation: string) =>
    Effect.suspend(() => {
      calls.count++
      return Effect.fail(new StoreError({ operation, reason: "disk I/O error" }))
    })
  const store = CacheStore.CacheStore.of({
    get: () => fail("get"),
    set: () => fail("set"),
    setAll: () => fail("setAll"),
    touch: () => fail("touch"),
    delete: () => fail("delete"),
    sweep: () => fail("sweep"),
    evict: () => fail("evict"),
    recent: () => fail("recent"),
    size: fail("size")
  })
  return { store, calls }
}

/** A store that keeps nothing: every read misses. */
export const nullStore = CacheStore.CacheStore.of({
  get: () => Effect.succeed(Option.none()),
  set: () => Effect.void,
  setAll: () => Effect.void,
  touch: () => Effect.void,
  delete: () => Effect.void,
  sweep: () => Effect.succeed(0),
  evict: () => Effect.succeed(0),
  recent: () => Effect.succeed([]),
  size: Effect.succeed({ entries: 0, bytes: 0 })
})

/** A deterministic request. */
export const request = (text: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: text }],
  temperature: 0,
  ...extra
})

/** A plain text answer. */
export const response = (content: string, extra: Partial<ChatResponse> = {}): ChatResponse => ({
  id: `chatcmpl-${content.length}`,
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
  ...extra
})

/** The cache and its control as one object. */
const both = (context: Context.Context<ResponseCache.ResponseCache | ResponseCache.CacheControl>) => ({
  ...Context.get(context, ResponseCache.ResponseCache),
  ...Context.get(context, ResponseCache.CacheControl)
})

/** Build a cache layer in the current scope (its fibers live until the test's scope closes). */
export const build = <E>(layer: Layer.Layer<ResponseCache.ResponseCache | ResponseCache.CacheControl, E>) =>
  Effect.map(Layer.build(layer), both)

/** Build a cache and its store in the current scope. */
export const buildBoth = <E>(
  layer: Layer.Layer<ResponseCache.ResponseCache | ResponseCache.CacheControl | CacheStore.CacheStore, E>
) =>
  Effect.map(Layer.build(layer), (context) => ({ cache: both(context), store: Context.get(context, CacheStore.CacheStore) }))
