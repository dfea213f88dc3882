/**
 * The port every provider adapter implements, and the `Providers` table the
 * gateway looks adapters up in. Adapters live in `@modelgate/providers`; core
 * only knows this interface.
 */
import type { ChatChunk, ChatRequest, ChatResponse, Usage } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import type { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import { type Chunk, Context, Effect, type Option, type Redacted, type Stream } from "effect"
import { refusedBy } from "./ModelRegistry/Refused.js"

/** The key one call uses: the secret (never logged) and its non-secret id (`openai#1`). */
export interface ProviderKey {
  readonly id: string
  readonly value: Redacted.Redacted<string>
}

/**
 * What `CallContext.onRetry` answers of a failure the adapter is about to
 * wait out and retry: `"wait"` (or nothing), it does; `"elsewhere"`, it
 * fails with it at once instead.
 */
export type RetryChoice = "wait" | "elsewhere"

/** What one call needs: the request (its `model` already the provider's model name), the model, the key. */
export interface CallContext {
  readonly request: ChatRequest
  readonly model: ModelMetadata
  /** Absent for providers that need none (Ollama). */
  readonly key: ProviderKey | undefined
  /**
   * Told of each failure of the call that the adapter retries, before it
   * waits (a 429's `retry-after` included): the gateway learns the provider's
   * refusal of the key (or keyless model) at once, so no other request is
   * sent on it while this call waits it out. It may answer `"elsewhere"`:
   * the call is not to wait nor retry, but fail with that error at once (the
   * gateway moves it to another key of the provider that has room: each key
   * has limits of its own). Optional.
   */
  readonly onRetry?: ((error: ProviderError) => Effect.Effect<RetryChoice | void>) | undefined
  /**
   * Asked by a call that had to wait for a concurrency permit (its
   * provider's `maxConcurrency`, its model's `rateLimits.concurrency`), once
   * it has one: false when the model was taken out meanwhile (health marked
   * it unavailable, e.g. its provider stopped answering the calls ahead of
   * this one), or its client left (a complete call left behind, nobody
   * waits for it: a retry waiting for its permit is not sent either). The call is then not sent: it fails at once with a
   * `Transport` "not sent" (`unreachable`: not retried, nothing charged), so
   * the gateway fails over instead of waiting out the provider's timeout
   * once more. Optional: without it every call is sent.
   */
  readonly stillWanted?: (() => Effect.Effect<boolean>) | undefined
  /**
   * Asked before each retry of the call, before and after its wait: true
   * once nobody waits for its answer (its client left a complete call the
   * gateway let run on). The retry is then not sent: the call fails with
   * the failure it would have retried (the provider bills each request it
   * answers; nobody would read the retry's). Optional: without it every
   * retry is sent.
   */
  readonly abandoned?: (() => boolean) | undefined
  /**
   * Told when the call is interrupted while it waits for a concurrency permit
   * (its client left a stream, or the gateway shut down), before it was sent:
   * the gateway then gives its rate-limit reservation back and records it
   * `NotSent`, rather than count a request the provider never saw. Optional:
   * without it such a call is counted as sent.
   */
  readonly onNotSent?: (() => Effect.Effect<void>) | undefined
  /**
   * Completes when the gateway's server starts shutting down
   * (`RequestOptions.closing`): a call still waiting for a concurrency permit
   * then stops waiting and fails unsent (`Transport.notSent`, telling
   * `onNotSent`), rather than hold the drain and be sent in the middle of it.
   * Optional: without it such a call waits for its permit.
   */
  readonly closing?: Effect.Effect<void> | undefined
}

/** A normalised answer plus what the provider said about its limits. */
export interface ChatResult {
  readonly response: ChatResponse
  readonly rateLimit: RateLimitInfo | undefined
  /** The provider's request id, when it sent one. */
  readonly providerRequestId: string | undefined
  /**
   * How many earlier HTTP requests of this call (the adapter's retries) the
   * provider answered with an error: each counts against its rate limits, as
   * this one does (absent: none).
   */
  readonly retried?: number | undefined
}

/**
 * A stream of normalised chunks. The stream fails with `StreamInterrupted` if
 * it ends before the provider's terminal event; the last chunk carries usage
 * (estimated and marked so when the provider gives none).
 */
export interface StreamResult {
  readonly chunks: Stream.Stream<ChatChunk, ProviderError>
  readonly rateLimit: RateLimitInfo | undefined
  readonly providerRequestId: string | undefined
  /**
   * How many earlier HTTP requests of this stream's call (the adapter's retries) the
   * provider answered with an error: each counts against its rate limits, as
   * this one does (absent: none).
   */
  readonly retried?: number | undefined
  /**
   * The same chunks as a bare pull, when the adapter offers one (the shipped
   * adapters do: their `chunks` is derived from it): a consumer with its own
   * pull loop (the gateway) reads the provider through it rather than through
   * a channel over `chunks`. Read a result through `chunks` or `open`, never
   * both, and once; `close` the pull once the consumer is done, however it is
   * done (end, failure, interruption): it releases the provider request.
   */
  readonly open?: (() => ProviderPull) | undefined
  /**
   * The usage the provider has reported so far, before its final usage
   * chunk: Anthropic's `message_start` (the input, cache reads and writes
   * exact; output barely begun), Gemini's running `usageMetadata`. What the
   * gateway charges for a stream that breaks or is left before its usage
   * chunk (the provider bills the input it reported). Undefined while
   * nothing was reported, and for providers that report usage only at the
   * end (OpenAI, Ollama). Optional: without it such a stream is estimated.
   */
  readonly usageSoFar?: (() => Usage | undefined) | undefined
}

/** A provider's stream as a bare pull (see `StreamResult.open`). */
export interface ProviderPull {
  /** The next batch of chunks; fails `None` at the end and `Some(error)` when the stream breaks (as `chunks` fails). */
  readonly pull: Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<ProviderError>>
  /** Close the provider request (idempotent). */
  readonly close: Effect.Effect<void>
  /**
   * Whether the stream already holds the failure that ends it: the network
   * read that gave the last batch also carried an error (an error event right
   * after the text, the connection broken), so the next pulls read nothing
   * more and fail (after any chunks still owed). Also true when that read
   * ended the body (the connection closed normally) before the stream's
   * terminal event: the next pulls read nothing more either, and fail unless
   * the adapter finds the answer whole (they then end it). The gateway asks
   * once, when it has the first text and nothing went out yet, and then takes
   * the rest: a stream that fails there fails over instead of sending a
   * doomed partial answer. Optional: absent, never so.
   */
  readonly failing?: (() => boolean) | undefined
}

/** The result of a cheap availability check. */
export interface ProbeResult {
  readonly ok: boolean
  readonly latencyMs: number
  readonly error: ProviderError | undefined
}

/** One provider adapter. */
export interface Provider {
  readonly id: string
  /** Whether calls need an API key (Ollama does not). */
  readonly requiresKey: boolean
  readonly chat: (ctx: CallContext) => Effect.Effect<ChatResult, ProviderError>
  /** Fails before the first chunk for errors the provider reports up front (status codes). */
  readonly stream: (ctx: CallContext) => Effect.Effect<StreamResult, ProviderError>
  /** A models-list or metadata call that spends no tokens where the provider has one. */
  readonly probe: (model: ModelMetadata, key: ProviderKey | undefined) => Effect.Effect<ProbeResult>
  /**
   * What in `request` this provider cannot give on `model` (a field whose
   * meaning its answer would lose, such as `n: 2` where it answers one
   * choice, or a reasoning effort the model's registry entry does not map),
   * or undefined. The gateway never sends such a request to it: `auto` ranks
   * without its models, a named model of it is refused (`UnsupportedParameter`).
   * Optional: an adapter without it serves every request.
   */
  readonly cannotServe?: ((request: ChatRequest, model: ModelMetadata) => Unsupported | undefined) | undefined
  /**
   * The output tokens a call of `request` on `model` takes from the
   * provider's output limit when it starts (Anthropic's OTPM: the
   * `max_tokens` the adapter sends), given the gateway's estimate of its
   * prompt; the limiter holds it against that limit once the key's headers
   * named it (`RateLimiter.reserve`). Plain code, called once per attempt.
   * Optional: an adapter without it has no separate output limit.
   */
  readonly outputReservation?: ((request: ChatRequest, model: ModelMetadata, promptTokens: number) => number) | undefined
}

/** A request field a provider cannot honour, and why. */
export interface Unsupported {
  readonly param: string
  readonly reason: string
}

/**
 * What in `request` cannot be given on `model`: a field its registry entry
 * refuses (`refusedParameters`, sampling hints aside), or what the adapter of
 * its provider cannot give (see `Provider.cannotServe`).
 */
export const unsupportedOn = (providers: Providers["Type"], request: ChatRequest, model: ModelMetadata): Unsupported | undefined =>
  refusedBy(request, model) ?? providers.get(model.provider)?.cannotServe?.(request, model)

/** The adapters the gateway can reach, by provider id. */
export class Providers extends Context.Tag("@modelgate/core/Providers")<
  Providers,
  {
    /** The adapter of a provider id (`openai`), or undefined when none is configured. */
    readonly get: (provider: string) => Provider | undefined
    /** Every provider id with an adapter. */
    readonly ids: ReadonlyArray<string>
  }
>() {
  /** A table of the given adapters. */
  static readonly fromList = (adapters: ReadonlyArray<Provider>): Providers["Type"] => {
    const byId = new Map(adapters.map((a) => [a.id, a] as const))
    return { get: (id) => byId.get(id), ids: [...byId.keys()] }
  }
}

/** Look up the adapter of a provider id inside an effect. */
export const getProvider = (id: string) => Effect.map(Providers, (p) => p.get(id))
