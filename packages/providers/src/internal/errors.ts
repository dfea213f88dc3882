/**
 * Shared pieces of error classification: the context every provider error is
 * built from, secret stripping, excerpts, and the generic status table that
 * each adapter refines with what its error body says.
 */
import {
  type AttemptFailure,
  BadRequest,
  MalformedResponse,
  Overloaded,
  type ProviderError,
  RateLimited,
  ServerError,
  Timeout,
  Transport,
  Unauthorized
} from "@modelgate/domain/ProviderError"
import { withoutUrlCredentials } from "@modelgate/domain/Errors"
import type { Usage } from "@modelgate/domain/Chat"
import type { RateLimitInfo } from "@modelgate/domain/RateLimitInfo"
import type { Headers } from "@effect/platform"
import type { RetryChoice } from "@modelgate/core/Provider"
import { Effect, Either, ParseResult, Schema } from "effect"
import { htmlText, isHtml } from "./htmlText.js"

/** Who a call is for: used in every error it produces. */
export interface CallInfo {
  /** The gateway's model id (what records and failover know). */
  readonly model: string
  /** The non-secret id of the key used (`openai#1`), when there is one. */
  readonly keyId: string | undefined
  /** Secret values to strip from provider text kept in an error. */
  readonly secrets: ReadonlyArray<string>
  /** The model's `rateLimits.concurrency`: at most this many of its calls in flight (none when absent). */
  readonly concurrency?: number | undefined
  /** Told of each failure about to be retried (`CallContext.onRetry`). */
  readonly onRetry?: ((error: ProviderError) => Effect.Effect<RetryChoice | void>) | undefined
  /** Asked once a call that waited for a permit has it: false, the call is not sent (`CallContext.stillWanted`). */
  readonly stillWanted?: (() => Effect.Effect<boolean>) | undefined
  /** True once nobody waits for the call's answer: no further retry is sent (`CallContext.abandoned`). */
  readonly abandoned?: (() => boolean) | undefined
  /** Told when the call is interrupted while it waits for a permit, unsent (`CallContext.onNotSent`). */
  readonly onNotSent?: (() => Effect.Effect<void>) | undefined
  /** Completes when the gateway shuts down: a wait for a permit then ends, the call unsent (`CallContext.closing`). */
  readonly closing?: Effect.Effect<void> | undefined
}

/** What every answer (success or failure) tells about itself. */
export interface ResponseMeta {
  readonly status: number
  readonly headers: Headers.Headers
  readonly requestId: string | undefined
  readonly rateLimit: RateLimitInfo | undefined
  /**
   * How many earlier HTTP requests of this call (the adapter's retries) the
   * provider answered with an error: requests it counted against its limits
   * besides this one (absent: none).
   */
  readonly retried?: number | undefined
}

/** Everything an adapter's `classify` needs to turn a non-2xx answer into one error. */
export interface ErrorContext extends ResponseMeta {
  readonly provider: string
  readonly info: CallInfo
  /** The raw body text (secrets not yet stripped: use `excerpt` for messages). */
  readonly body: string
  /** A short, secret-free excerpt of the body. */
  readonly excerpt: string
  /** `Clock` time when the answer arrived, for HTTP-date `retry-after` values. */
  readonly nowMs: number
}

/** The fields every `ProviderError` shares. */
export interface CommonFields {
  readonly provider: string
  readonly model: string
  readonly status: number | undefined
  readonly requestId: string | undefined
  readonly detail: string
  readonly rateLimit: RateLimitInfo | undefined
}

/** The common fields of an error built from an answer, with `detail` as its text. */
export const fieldsOf = (ctx: ErrorContext, detail: string): CommonFields => ({
  provider: ctx.provider,
  model: ctx.info.model,
  status: ctx.status,
  requestId: ctx.requestId,
  detail,
  rateLimit: ctx.rateLimit
})

/**
 * A model the provider's account or server cannot serve (a 404 for a retired
 * or misspelt model, OpenAI's `model_not_found`, a model not pulled, one too
 * large for the server's memory): the setup's doing, not the request's. An
 * unreachable `Transport`, as a server that is down: not retried on the same
 * model, the failover moves on at once, and the model's first probe takes it out.
 * `why` says what the provider's answer means, before its own words (`detail`).
 */
export const notServed = (fields: CommonFields, why: string): Transport =>
  new Transport({ ...fields, detail: `${why}: ${fields.detail}`, unreachable: true })

const secretPatterns: ReadonlyArray<RegExp> = [
  /sk-[A-Za-z0-9_-]{6,}/g,
  /sk-ant-[A-Za-z0-9_-]{6,}/g,
  /AIza[0-9A-Za-z_-]{10,}/g,
  /Bearer\s+[A-Za-z0-9._~+/=-]+/gi,
  // A key a provider echoes partly masked (OpenAI's 401: `sk-proj-****…Qx7Z`): its ends are still ours. The
  // whole word holding the stars goes; it is matched from its start only (the lookbehind), so a long word
  // without stars (a token, base64url, hex in an error page) costs one scan, not one per character.
  /(?<![A-Za-z0-9_*-])[A-Za-z0-9_*-]*\*{3}[A-Za-z0-9_*-]*/g
]

/** Remove the given secret values, anything shaped like an API key and a URL's credentials from a text. */
export const stripSecrets = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join("[redacted]")
  }
  for (const pattern of secretPatterns) out = out.replace(pattern, "[redacted]")
  return withoutUrlCredentials(out)
}

/** A short single-line excerpt of a provider's text, secrets stripped. */
export const excerpt = (text: string, secrets: ReadonlyArray<string>, max = 300): string => {
  const flat = stripSecrets(text, secrets).replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

/**
 * A provider's words for a model (or its API) that cannot take what the
 * request has, rather than a malformed request: OpenAI's "Unsupported
 * parameter: 'temperature' is not supported with this model", "image_url is
 * only supported by certain models", "supports at most N completion tokens";
 * Anthropic's "does not support assistant message prefill", "cannot both be
 * specified for this model"; Gemini's "Function calling is not enabled for
 * models/x", "This model only works in thinking mode"; Ollama's "does not
 * support tools".
 */
const modelRefusalPattern =
  /unsupported_(parameter|value)|(for|by|with|in|on) this model|this model (does not|only)|does not support|supports at most|only supported by certain models|is not enabled for models\//i

/**
 * A BadRequest with the provider's words (`said`): `modelRefused` when they
 * say the model cannot take what the request has (see `BadRequest`), so the
 * failover tries the next candidate.
 */
export const badRequest = (fields: CommonFields, said: string, param?: string | undefined): BadRequest =>
  new BadRequest({ ...fields, param, ...(modelRefusalPattern.test(said) ? { modelRefused: true } : {}) })

/** How the generic status table classifies a status: `success` or an error tag. */
export type StatusClass = "success" | ProviderError["_tag"]

/**
 * The generic status table: 2xx success; 401/403 Unauthorized; 408 Timeout;
 * 409 ServerError (a transient conflict the SDKs retry); 429 RateLimited;
 * other 4xx BadRequest; 503 and 529 Overloaded; other 5xx ServerError; every
 * other status (1xx, 3xx, out of range) MalformedResponse. Total: every
 * integer maps to exactly one class.
 */
export const classifyStatus = (status: number): StatusClass => {
  if (status >= 200 && status < 300) return "success"
  if (status === 401 || status === 403) return "Unauthorized"
  if (status === 408) return "Timeout"
  if (status === 409) return "ServerError"
  if (status === 429) return "RateLimited"
  if (status >= 400 && status < 500) return "BadRequest"
  if (status === 503 || status === 529) return "Overloaded"
  if (status >= 500 && status < 600) return "ServerError"
  return "MalformedResponse"
}

/**
 * The error of the generic status table for a non-2xx answer, with the given
 * detail and retry hint. Adapters call it after handling their special cases.
 * A 408 is the provider's own timeout: no `timeoutMs` of the gateway's.
 */
export const genericError = (
  ctx: ErrorContext,
  detail: string,
  retryAfterMs: number | undefined
): ProviderError => {
  const fields = fieldsOf(ctx, detail)
  switch (classifyStatus(ctx.status)) {
    case "Unauthorized":
      return new Unauthorized({ ...fields, keyId: ctx.info.keyId })
    case "Timeout":
      return new Timeout(fields)
    case "RateLimited":
      return new RateLimited({ ...fields, retryAfterMs })
    case "Overloaded":
      return new Overloaded({ ...fields, retryAfterMs })
    case "BadRequest":
      return badRequest(fields, detail)
    case "ServerError":
      return new ServerError(fields)
    default:
      return new MalformedResponse({ ...fields, detail: `unexpected HTTP status ${ctx.status}: ${detail}` })
  }
}

/** A copy of `error` (same class) carrying the list of failed attempts. */
export const withAttempts = <E extends ProviderError>(error: E, attempts: ReadonlyArray<AttemptFailure>): E =>
  Object.assign(Object.create(Object.getPrototypeOf(error)) as E, error, { attempts })

/** One attempt's record for `attempts`. */
export const attemptOf = (error: ProviderError): AttemptFailure => ({
  tag: error._tag,
  ...(error.status !== undefined ? { status: error.status } : {}),
  message: error.message
})

/**
 * Decode a JSON text with a Schema; a body that is not JSON or does not match
 * becomes `MalformedResponse` with a short, secret-free excerpt of the text.
 */
export const decodeJson = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string,
  base: { readonly provider: string; readonly info: CallInfo; readonly meta: ResponseMeta | undefined }
): Effect.Effect<A, MalformedResponse> => {
  const decoded = decodeJsonEither(schema, text, base)
  return Either.isRight(decoded) ? Effect.succeed(decoded.right) : Effect.fail(decoded.left)
}

/** `decodeJson` as a plain `Either`, for callers that go on synchronously. */
export const decodeJsonEither = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string,
  base: { readonly provider: string; readonly info: CallInfo; readonly meta: ResponseMeta | undefined }
): Either.Either<A, MalformedResponse> => {
  const decoded = jsonDecoderOf(schema)(text)
  return Either.isRight(decoded)
    ? Either.right(decoded.right)
    : Either.left(malformed(base, `${describeParseError(decoded.left, base.info.secrets)}; body: ${excerpt(shownText(text, base.meta), base.info.secrets, 200)}`))
}

/** A body as its excerpt quotes it: an HTML page (a proxy's, in place of the JSON) by its text, not its markup. */
const shownText = (text: string, meta: ResponseMeta | undefined): string =>
  isHtml(meta?.headers["content-type"], text) ? htmlText(text) : text

/**
 * One `parseJson` decoder per Schema, built on first use: building it per call
 * compiles a fresh parser every time (the Schema's AST is new each time).
 */
const jsonDecoders = new WeakMap<Schema.Schema.Any, (text: string) => Either.Either<unknown, ParseResult.ParseError>>()

const jsonDecoderOf = <A, I>(schema: Schema.Schema<A, I>): (text: string) => Either.Either<A, ParseResult.ParseError> => {
  let decoder = jsonDecoders.get(schema)
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownEither(Schema.parseJson(schema))
    jsonDecoders.set(schema, decoder)
  }
  return decoder as (text: string) => Either.Either<A, ParseResult.ParseError>
}

/**
 * A `MalformedResponse` about an answer (status, request id and limits from
 * `meta`, when there is one); `usage` when the answer came whole and
 * reported what the provider bills for it (see `ProviderError.usage`). The
 * detail quotes the provider (a finish reason, a body): its secrets are stripped.
 */
export const malformed = (
  base: { readonly provider: string; readonly info: CallInfo; readonly meta: ResponseMeta | undefined },
  detail: string,
  usage?: Usage | undefined
): MalformedResponse =>
  new MalformedResponse({
    provider: base.provider,
    model: base.info.model,
    status: base.meta?.status,
    requestId: base.meta?.requestId,
    rateLimit: base.meta?.rateLimit,
    detail: stripSecrets(detail, base.info.secrets),
    ...(usage !== undefined ? { usage } : {})
  })

/**
 * The first issue of a parse error as `at a.b: message`, kept short. Its
 * message quotes the value that did not decode (`actual {...}`), the
 * provider's text: `secrets` and key-shaped strings are stripped from it.
 */
export const describeParseError = (e: ParseResult.ParseError, secrets: ReadonlyArray<string>): string => {
  const first = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
  if (first === undefined) return "does not decode"
  const where = first.path.length > 0 ? `at ${first.path.map(String).join(".")}: ` : ""
  const text = stripSecrets(`${where}${first.message}`, secrets).replace(/\s+/g, " ")
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/** An error's detail: the provider's own words (secrets stripped) when its body decoded, else the body excerpt or the status. */
export const detailOf = (ctx: ErrorContext, said: string | undefined): string =>
  said !== undefined ? excerpt(said, ctx.info.secrets) : ctx.excerpt === "" ? `HTTP ${ctx.status}` : ctx.excerpt

/** Who a stream is for and the answer that opened it: what its errors carry. */
export interface StreamContext {
  readonly provider: string
  readonly info: CallInfo
  readonly meta: ResponseMeta
  readonly nowMs: number
}

/**
 * An error event inside a 200 stream, classified as the HTTP answer with
 * `status` would be, then stripped of that status (the HTTP status was 200).
 */
export const inBandError = (
  classify: (ctx: ErrorContext) => ProviderError,
  context: StreamContext,
  data: string,
  status: number
): ProviderError => {
  const error = classify({
    ...context.meta,
    status,
    provider: context.provider,
    info: context.info,
    body: data,
    excerpt: excerpt(data, context.info.secrets),
    nowMs: context.nowMs
  })
  return Object.assign(Object.create(Object.getPrototypeOf(error)) as ProviderError, error, { status: undefined })
}
