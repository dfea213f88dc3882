/**
 * The HTTP client under the provider adapters: `@effect/platform-node`'s
 * undici client (`NodeHttpClient.makeUndici`) over its own undici `Agent`,
 * destroyed when the layer closes. Same client, same responses (the adapters'
 * body fast path in providers' internal/body.ts reads them as before).
 *
 * Why not `NodeHttpClient.layerUndici`: that layer is built with
 * `HttpClient.layerMergedContext`, which wraps every request in
 * `Effect.mapInputContext` (merging the layer's context into the caller's, so
 * undici options provided at the layer apply): a `FiberRef.locally`, i.e. an
 * `acquireUseRelease` of 25 Effect ops per request. modelgate provides no
 * undici options there, so this behaves the same. Measured on the OpenAI
 * adapter (bench/micro-client-provider.ts): json 80 -> 55 ops per call, CPU
 * median ~190 -> ~175 us; pulled stream 322 -> 281 ops together with the
 * adapters' own scope change. A hand-written `HttpClient` over undici
 * (`HttpClient.make` with one `Effect.async` and a small response class) was
 * measured too: 4 ops fewer again and no CPU difference within the noise
 * (best 160-177 vs 164-171 us), so the well-kept platform client stays.
 */
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"

/** `HttpClient` over a scoped undici `Agent` (destroyed when the layer closes). */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.scoped(
  HttpClient.HttpClient,
  Effect.map(NodeHttpClient.makeDispatcher, NodeHttpClient.makeUndici)
)
