/**
 * The HTTP client under the provider adapters: a lean undici client
 * (`UndiciHttpClient.ts`) over its own undici `Agent` (through the egress
 * proxy of `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` when set:
 * `EgressProxy.ts`), destroyed when the layer closes, that hands what it does not take (no `Scope` in the caller's
 * context, a streamed or form body, the tracer on) to `@effect/platform-node`'s
 * undici client over the same `Agent`. Same responses either way (the
 * adapters' body fast path in providers' internal/body.ts reads both).
 *
 * Why not `NodeHttpClient.layerUndici`: that layer is built with
 * `HttpClient.layerMergedContext`, which wraps every request in
 * `Effect.mapInputContext` (merging the layer's context into the caller's, so
 * undici options provided at the layer apply): a `FiberRef.locally`, i.e. an
 * `acquireUseRelease` of 25 Effect ops per request. modelgate provides no
 * undici options there. Why not the platform's client alone: measured under
 * load, it is where the adapters' CPU went. An earlier hand-written client on
 * `HttpClient.make` (which still parses the URL and makes an
 * `AbortController` per request) read the same as the platform's in
 * sequential calls, where waking from idle hides the difference; at
 * concurrency 64 (bench/micro-provider-concurrent.ts) the OpenAI adapter
 * over the lean client spends ~90 us of CPU per call against ~130 over the
 * platform's, and the gateway ~15% less per request (bench/README.md).
 */
import { HttpClient } from "@effect/platform"
import type { ConfigError } from "@modelgate/domain/Errors"
import { Effect, Layer } from "effect"
import * as EgressProxy from "./EgressProxy.js"
import * as StaleConnection from "./StaleConnection.js"
import * as UndiciHttpClient from "./UndiciHttpClient.js"

/**
 * `HttpClient` over a scoped undici `Agent` (destroyed when the layer
 * closes), through the environment's egress proxy when one is set; a
 * request that meets a kept-alive connection the upstream dropped as it was
 * reused is sent once more on a fresh one (`StaleConnection.ts`). A
 * malformed proxy URL fails it (`ConfigError` naming the variable).
 */
export const layer: Layer.Layer<HttpClient.HttpClient, ConfigError> = Layer.scoped(
  HttpClient.HttpClient,
  EgressProxy.fromEnv.pipe(
    Effect.flatMap(EgressProxy.dispatcher),
    Effect.map((dispatcher) => UndiciHttpClient.make(dispatcher.compose(StaleConnection.resend)))
  )
)
