/**
 * The closed union of provider failures. Each adapter classifies every failure
 * into exactly one of these, once; everything downstream (retry, failover,
 * health, HTTP status) reads `retryable` and the tag, never a raw status code.
 */
import { Schema } from "effect"
import { Usage } from "./Chat.js"
import { RateLimitInfo } from "./RateLimitInfo.js"

/** One failed attempt inside an adapter's retry loop. */
export const AttemptFailure = Schema.Struct({
  tag: Schema.String,
  status: Schema.optional(Schema.Int),
  message: Schema.String
})
export type AttemptFailure = typeof AttemptFailure.Type

const common = {
  provider: Schema.String,
  model: Schema.String,
  status: Schema.optional(Schema.Int),
  requestId: Schema.optional(Schema.String),
  detail: Schema.String,
  rateLimit: Schema.optional(RateLimitInfo),
  attempts: Schema.optional(Schema.Array(AttemptFailure)),
  /**
   * The usage the provider reported for an answer it gave whole, and bills,
   * but that cannot be used (a 200 whose finish reason has no OpenAI
   * equivalent, such as Gemini's MALFORMED_FUNCTION_CALL, or that a safety
   * filter blocked): charged for the failed call, which the adapter then
   * does not retry.
   */
  usage: Schema.optional(Usage)
}

const describe = (e: { provider: string; model: string; status?: number | undefined; detail: string }, what: string) =>
  `${what} from ${e.provider} (model ${e.model}${e.status !== undefined ? `, HTTP ${e.status}` : ""}): ${e.detail}`

/** 429 or a provider's quota signal; `retryAfterMs` from the provider's hints. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...common,
  retryAfterMs: Schema.optional(Schema.NonNegative)
}) {
  readonly retryable = true
  override get message() {
    return describe(this, "rate limited") + (this.retryAfterMs !== undefined ? ` (retry after ${this.retryAfterMs} ms)` : "")
  }
}

/** 503 or Anthropic 529: the provider is overloaded. */
export class Overloaded extends Schema.TaggedError<Overloaded>()("Overloaded", {
  ...common,
  retryAfterMs: Schema.optional(Schema.NonNegative)
}) {
  readonly retryable = true
  override get message() {
    return describe(this, "overloaded")
  }
}

/** Any other 5xx. */
export class ServerError extends Schema.TaggedError<ServerError>()("ServerError", common) {
  readonly retryable = true
  override get message() {
    return describe(this, "server error")
  }
}

/**
 * No answer (or no next stream event) within the configured timeout
 * (`timeoutMs`), or the provider answered that it timed out itself (an HTTP
 * 408, Anthropic's 504 `timeout_error`, Gemini's 504 DEADLINE_EXCEEDED: its
 * `status`, no `timeoutMs` of the gateway's).
 */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  ...common,
  timeoutMs: Schema.optional(Schema.NonNegative)
}) {
  readonly retryable = true
  override get message() {
    return describe(this, this.timeoutMs === undefined ? "provider-side timeout" : `timeout after ${this.timeoutMs} ms`)
  }
}

/**
 * Connection refused, reset, DNS failure: the request never got an HTTP
 * answer. `unreachable` when the connection was refused: the host answered
 * that nothing listens at the provider's address (Ollama not started, a wrong
 * port; also an Ollama server that answers it does not have the model, which
 * is not pulled there, and an OpenAI, Anthropic or Gemini API that answers
 * a 404 for the model: retired, misspelt, not on the account), so the adapter
 * does not retry it, and a probe that
 * meets it takes a model not seen working yet out at once. DNS failures and unreachable networks may pass in a
 * moment: they are plain transport failures, retried and counted as usual.
 * Also `unreachable`, and `notSent`: a call never sent because its model was
 * marked unavailable, or its client left, while it waited for a concurrency
 * permit ("not sent: ...", `CallContext.stillWanted`); it tells nothing of the model's health
 * (`countsAgainstHealth`). With `closing`, the gateway began to shut down
 * during that wait (`CallContext.closing`).
 */
export class Transport extends Schema.TaggedError<Transport>()("Transport", {
  ...common,
  unreachable: Schema.optional(Schema.Boolean),
  notSent: Schema.optional(Schema.Boolean),
  /** Not sent because the gateway began to shut down while the call waited for a permit (with `notSent`). */
  closing: Schema.optional(Schema.Boolean),
  /**
   * The request got no HTTP answer at all (connection refused, reset before
   * the headers, DNS failure, unreachable network): the provider's endpoint
   * failed, not this model, and the same holds for every model served there
   * (`endpointEvidence`). Unset for a model's own `unreachable` (a 404 for it).
   */
  endpoint: Schema.optional(Schema.Boolean)
}) {
  readonly retryable = true
  override get message() {
    return describe(this, this.unreachable === true ? "unreachable" : "transport failure")
  }
}

/** Whether `error` says nothing listens at the provider's address (a `Transport` that could not connect). */
export const isUnreachable = (error: { readonly _tag: string }): boolean =>
  error._tag === "Transport" && (error as Transport).unreachable === true

/**
 * What a failed call says of its provider's endpoint (every model served at
 * the same base URL), for health: `down` when it got no HTTP answer at all
 * (`Transport.endpoint`: refused, reset before the headers, DNS), strong
 * evidence; `stalled` when nothing came within the gateway's own timeout
 * (`Timeout.timeoutMs`), weak evidence (a slow model looks the same as a dead
 * server); undefined for everything the endpoint answered (a 404, a 500 or a
 * 429 for the model is that model's) and for a call never sent.
 */
export type EndpointEvidence = "down" | "stalled"

/** `EndpointEvidence` of a failed call. */
export const endpointEvidence = (error: { readonly _tag: string }): EndpointEvidence | undefined => {
  if (error._tag === "Transport") {
    const transport = error as Transport
    return transport.endpoint === true && transport.notSent !== true ? "down" : undefined
  }
  const timeout = error as Timeout
  return error._tag === "Timeout" && timeout.timeoutMs !== undefined && timeout.status === undefined ? "stalled" : undefined
}

/**
 * 401 / 403: the key is invalid or not allowed. The key is named by its
 * position (`keyId`, `openai#1`) and, once the gateway has added it, its
 * fingerprint (`keyFingerprint`, `openai~3fa9c2d1e07b4a55`, as cost records
 * name it); never by its value.
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  ...common,
  keyId: Schema.optional(Schema.String),
  keyFingerprint: Schema.optional(Schema.String)
}) {
  readonly retryable = false
  override get message() {
    return describe(this, "unauthorized") +
      (this.keyId !== undefined ? ` (key ${this.keyId}${this.keyFingerprint !== undefined ? ` ${this.keyFingerprint}` : ""})` : "")
  }
}

/**
 * A 4xx the provider answered about the request, with its message.
 * `modelRefused`: the provider said this model (or its API) cannot take what
 * the request has (images, tools, a parameter, thinking, a size over its
 * limit), not that the request is malformed: another model may serve it, so
 * failover moves on, and answers it to the client only when every candidate
 * tried refused.
 */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  ...common,
  param: Schema.optional(Schema.String),
  modelRefused: Schema.optional(Schema.Boolean)
}) {
  readonly retryable = false
  override get message() {
    return describe(this, "bad request")
  }
}

/** The prompt (plus requested output) does not fit the model's context window. */
export class ContextLengthExceeded extends Schema.TaggedError<ContextLengthExceeded>()("ContextLengthExceeded", common) {
  readonly retryable = false
  override get message() {
    return describe(this, "context length exceeded")
  }
}

/** The provider refused or blocked the content (safety filter). */
export class ContentFiltered extends Schema.TaggedError<ContentFiltered>()("ContentFiltered", common) {
  readonly retryable = false
  override get message() {
    return describe(this, "content filtered")
  }
}

/** An answer that does not decode: HTML error page, truncated JSON, unknown shape. */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>()("MalformedResponse", common) {
  readonly retryable = true
  override get message() {
    return describe(this, "malformed response")
  }
}

/** A stream that ended (or broke) before its terminal event. */
export class StreamInterrupted extends Schema.TaggedError<StreamInterrupted>()("StreamInterrupted", common) {
  readonly retryable = true
  override get message() {
    return describe(this, "stream interrupted")
  }
}

/** Every way a provider call can fail. */
export const ProviderError = Schema.Union(
  RateLimited,
  Overloaded,
  ServerError,
  Timeout,
  Transport,
  Unauthorized,
  BadRequest,
  ContextLengthExceeded,
  ContentFiltered,
  MalformedResponse,
  StreamInterrupted
)
export type ProviderError = typeof ProviderError.Type

/** The tag of a provider error, used as an error class in records and metrics. */
export type ProviderErrorTag = ProviderError["_tag"]

/**
 * Tags of errors that say the model (not the request) is unwell: they feed
 * health checks. A stream that ended or broke before its terminal event
 * (`StreamInterrupted`: a connection reset after the headers, a body cut
 * short) is the model's traffic breaking, as a reset before the headers
 * (`Transport`) is.
 */
export const healthFailureTags: ReadonlySet<ProviderErrorTag> = new Set([
  "ServerError",
  "Timeout",
  "Transport",
  "Overloaded",
  "StreamInterrupted"
])

/**
 * Whether a failed call counts against its model's health: a
 * `healthFailureTags` class, unless the call was never sent (`Transport.notSent`:
 * its model was taken out while it waited for a concurrency permit).
 */
export const countsAgainstHealth = (error: { readonly _tag: string; readonly notSent?: boolean | undefined }): boolean =>
  healthFailureTags.has(error._tag as ProviderErrorTag) && error.notSent !== true
