/**
 * Helpers shared by the Anthropic and Gemini translators: content flattening,
 * data URLs, tool arguments, and running a stream translator.
 */
import type { Sse } from "@effect/experimental"
import type { ChatChunk, TextPart } from "@modelgate/domain/Chat"
import type { ProbeResult, ProviderKey } from "@modelgate/core/Provider"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { type ProviderError, Unauthorized } from "@modelgate/domain/ProviderError"
import { Clock, Effect, type Either, Option, Redacted, Schema, Stream } from "effect"
import { type CallInfo, type ErrorContext, excerpt, type ResponseMeta } from "../internal/errors.js"

/** The text of string-or-parts content, parts joined without separator. */
export const textOf = (content: string | ReadonlyArray<TextPart>): string =>
  typeof content === "string" ? content : content.map((part) => part.text).join("")

/** The mime type and base64 payload of a `data:<mime>;base64,<data>` URL, or undefined for any other URL. */
export const parseDataUrl = (url: string): { readonly mimeType: string; readonly data: string } | undefined => {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url)
  return match === null ? undefined : { mimeType: match[1]!, data: match[2]! }
}

const JsonObject = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const decodeJsonObject = Schema.decodeUnknownOption(JsonObject)

/** OpenAI's tool-call `arguments` string as a JSON object; undefined when it is not one (empty means `{}`). */
export const parseToolArguments = (args: string): Record<string, unknown> | undefined =>
  args.trim() === "" ? {} : Option.getOrUndefined(decodeJsonObject(args))

/** A stateful translator of one stream's SSE events into chunks. */
export interface ChunkTranslator {
  /** The chunks one event yields, or the error that ends the stream. */
  readonly push: (event: Sse.Event) => Either.Either<ReadonlyArray<ChatChunk>, ProviderError>
  /** The chunks owed when the body ends (finish, usage), or the error a premature end is. */
  readonly end: () => Either.Either<ReadonlyArray<ChatChunk>, ProviderError>
}

/** Run `events` through a fresh translator per stream run, ending with what `end` says. */
export const translateEvents = <E>(
  events: Stream.Stream<Sse.Event, E>,
  makeTranslator: () => ChunkTranslator
): Stream.Stream<ChatChunk, E | ProviderError> =>
  Stream.suspend(() => {
    const translator = makeTranslator()
    return events.pipe(
      Stream.mapConcatEffect((event) => translator.push(event)),
      Stream.concat(Stream.suspend(() => Stream.fromIterableEffect(translator.end())))
    )
  })

/** The non-secret call info of a model and key; the key's value only goes to secret stripping. */
export const callInfoOf = (model: ModelMetadata, key: ProviderKey | undefined): CallInfo => ({
  model: model.id,
  keyId: key?.id,
  secrets: key === undefined ? [] : [Redacted.value(key.value)]
})

/** The error of a call made without the key the provider needs. */
export const missingKey = (provider: string, model: ModelMetadata): Unauthorized =>
  new Unauthorized({ provider, model: model.id, detail: `no API key given for ${provider}` })

/** Run a probe call and time it with `Clock`; it never fails. */
export const timedProbe = (call: Effect.Effect<unknown, ProviderError>): Effect.Effect<ProbeResult> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const result = yield* Effect.either(call)
    const latencyMs = (yield* Clock.currentTimeMillis) - started
    return { ok: result._tag === "Right", latencyMs, error: result._tag === "Left" ? result.left : undefined }
  })

/** A base URL without trailing slashes. */
export const trimBase = (url: string): string => url.replace(/\/+$/, "")

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
