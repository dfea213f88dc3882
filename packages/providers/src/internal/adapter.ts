/**
 * Pieces every adapter's `make` uses: who a call is for, the error of a
 * missing key, the base URL, a timed probe, and the checks of what a
 * provider cannot serve (`Provider.cannotServe`).
 */
import type { CallContext, ProbeResult, ProviderKey, Unsupported } from "@modelgate/core/Provider"
import { bookkeepingParameters, type ChatRequest, extraParameters } from "@modelgate/domain/Chat"
import type { ModelMetadata } from "@modelgate/domain/Model"
import { type ProviderError, Unauthorized } from "@modelgate/domain/ProviderError"
import { Clock, Effect, Redacted } from "effect"
import { parseToolArguments, stopSequences } from "./content.js"
import { dataUrlMediaType, inlineBase64Length, isDataUrl } from "./dataUrl.js"
import type { CallInfo } from "./errors.js"
import { shownToolId } from "./toolIds.js"

/**
 * The non-secret call info of a model and key (with the model's concurrency
 * cap, whom to tell of a failure about to be retried: `CallContext.onRetry`,
 * whom to ask after a wait for a permit: `CallContext.stillWanted`, and whom
 * to tell of a wait interrupted unsent: `CallContext.onNotSent`, what
 * ends such a wait: `CallContext.closing`, and whom to ask before a retry:
 * `CallContext.abandoned`); the key's value only goes to
 * secret stripping.
 */
export const callInfoOf = (
  model: ModelMetadata,
  key: ProviderKey | undefined,
  ctx?: Pick<CallContext, "onRetry" | "stillWanted" | "onNotSent" | "closing" | "abandoned">
): CallInfo => ({
  model: model.id,
  keyId: key?.id,
  secrets: key === undefined ? [] : [Redacted.value(key.value)],
  concurrency: model.rateLimits.concurrency,
  onRetry: ctx?.onRetry,
  stillWanted: ctx?.stillWanted,
  onNotSent: ctx?.onNotSent,
  closing: ctx?.closing,
  abandoned: ctx?.abandoned
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

const userinfo = /^([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/i

/**
 * A base URL without trailing slashes nor credentials (`user:pass@`): no
 * HTTP client sends those (a request goes to the URL's origin and path), and
 * a tracer's client span would show them (`url.full`).
 */
export const trimBase = (url: string): string => url.replace(/\/+$/, "").replace(userinfo, "$1")

/** A check for `Provider.cannotServe`: what in a request the provider `provider` would drop on `model`, or undefined. */
export type Check = (provider: string, request: ChatRequest, model: ModelMetadata) => Unsupported | undefined

/** A provider whose API answers one choice per request (no `n`): a request for more. */
export const manyChoices: Check = (provider, request) =>
  request.n != null && request.n > 1
    ? { param: "n", reason: `${provider} answers one choice per request (n=${request.n} asked)` }
    : undefined

/** A provider with no switch for parallel tool calls: a request that forbids them (it might get several). */
export const serialToolCalls: Check = (provider, request) =>
  request.parallel_tool_calls === false && request.tools !== undefined && request.tools.length > 0
    ? { param: "parallel_tool_calls", reason: `${provider} cannot be kept to one tool call per answer (parallel_tool_calls false asked)` }
    : undefined

/** A provider that takes at most `max` stop sequences: a request with more (one left out would let the answer run on). */
export const stopsOver = (max: number): Check => (provider, request) => {
  const count = stopSequences(request)?.length ?? 0
  return count > max ? { param: "stop", reason: `${provider} takes at most ${max} stop sequences (${count} asked)` } : undefined
}

/** A provider without OpenAI's token ids: a request with a `logit_bias` (its ids mean nothing there). */
export const logitBias: Check = (provider, request) =>
  request.logit_bias != null && Object.keys(request.logit_bias).length > 0
    ? { param: "logit_bias", reason: `${provider} takes no logit_bias (its token ids are OpenAI's)` }
    : undefined

/**
 * A provider other than OpenAI: a request with OpenAI parameters modelgate
 * does not model (`extraParameters`), which only the OpenAI adapter sends on;
 * the bookkeeping ones (`store`, `safety_identifier`, `prompt_cache_key`,
 * `prompt_cache_retention`) aside.
 */
export const extraOpenAiParameters: Check = (provider, request) => {
  const all = extraParameters(request)
  const extras = all.length === 0 ? all : all.filter((name) => !bookkeepingParameters.has(name))
  return extras.length === 0
    ? undefined
    : { param: extras[0]!, reason: `${provider} takes no ${extras.map((e) => `'${e}'`).join(", ")} (OpenAI parameters, sent to OpenAI only)` }
}

/** What a request's user content holds beyond text: read once per request (every candidate's checks ask). */
interface Media {
  /** An image by URL rather than inline (`data:`). */
  readonly remoteImage: boolean
  readonly audio: boolean
  /** A file part at all, and one without inline `file_data` (an OpenAI `file_id`). */
  readonly file: boolean
  readonly fileByReference: boolean
  /** The media types of the inline (`data:`) images. */
  readonly imageTypes: ReadonlyArray<string>
  /** The media types of the inline (`data:`) files. */
  readonly fileTypes: ReadonlyArray<string>
  /** The largest inline image: its length in base64 and its URL's field (`messages[1].content[2].image_url.url`). */
  readonly largestImage: { readonly base64Length: number; readonly param: string } | undefined
}

const noMedia: Media = {
  remoteImage: false,
  audio: false,
  file: false,
  fileByReference: false,
  imageTypes: [],
  fileTypes: [],
  largestImage: undefined
}
const mediaSeen = new WeakMap<ChatRequest, Media>()

const mediaOf = (request: ChatRequest): Media => {
  const seen = mediaSeen.get(request)
  if (seen !== undefined) return seen
  let media = noMedia
  for (const [i, message] of request.messages.entries()) {
    if (message.role !== "user" || typeof message.content === "string") continue
    for (const [j, part] of message.content.entries()) {
      if (part.type === "image_url") {
        const url = part.image_url.url
        if (!isDataUrl(url)) media = { ...media, remoteImage: true }
        else {
          const type = dataUrlMediaType(url)
          if (type !== undefined && !media.imageTypes.includes(type)) media = { ...media, imageTypes: [...media.imageTypes, type] }
          const base64Length = inlineBase64Length(url)
          if (base64Length > (media.largestImage?.base64Length ?? 0)) {
            media = { ...media, largestImage: { base64Length, param: `messages[${i}].content[${j}].image_url.url` } }
          }
        }
      } else if (part.type === "input_audio") media = { ...media, audio: true }
      else if (part.type === "file") {
        const data = part.file.file_data
        const inline = data !== undefined && isDataUrl(data)
        media = { ...media, file: true, fileByReference: media.fileByReference || !inline }
        const type = inline ? dataUrlMediaType(data) : undefined
        if (type !== undefined && !media.fileTypes.includes(type)) media = { ...media, fileTypes: [...media.fileTypes, type] }
      }
    }
  }
  mediaSeen.set(request, media)
  return media
}

/** A provider that takes images only inline: a request with an image by URL. */
export const remoteImage: Check = (provider, request) =>
  mediaOf(request).remoteImage
    ? { param: "messages", reason: `${provider} takes images only inline (data: URLs); the request has an image by URL` }
    : undefined

/** A provider that takes inline `what` (images, files) of `types` only: a request with an inline one of another type. */
const typeOutside = (what: "images" | "files", seen: (media: Media) => ReadonlyArray<string>, types: ReadonlySet<string>): Check =>
(provider, request) => {
  const other = seen(mediaOf(request)).find((type) => !types.has(type))
  return other === undefined
    ? undefined
    : { param: "messages", reason: `${provider} takes ${what} as ${[...types].join(", ")}; the request has one of ${other}` }
}

/** A provider that takes inline images of `types` only: a request with an inline image of another type. */
export const imageTypeOutside = (types: ReadonlySet<string>): Check => typeOutside("images", (media) => media.imageTypes, types)

/** A provider that takes inline files of `types` only: a request with an inline file of another type. */
export const fileTypeOutside = (types: ReadonlySet<string>): Check => typeOutside("files", (media) => media.fileTypes, types)

/**
 * A provider that takes inline images of at most `bytes` of base64 each
 * (Anthropic: 5 MB): a request with a larger one, named by its field.
 */
export const imageOver = (bytes: number): Check => (provider, request) => {
  const largest = mediaOf(request).largestImage
  return largest === undefined || largest.base64Length <= bytes ? undefined : {
    param: largest.param,
    reason: `${provider} takes inline images of at most ${bytes / 1024 / 1024} MB in base64; ${largest.param} is ${largest.base64Length} bytes`
  }
}

/** A provider without audio input: a request with an `input_audio` part. */
export const audioInput: Check = (provider, request) =>
  mediaOf(request).audio ? { param: "messages", reason: `${provider} takes no audio input (the request has an input_audio part)` } : undefined

/** A provider that takes files only inline: a file part without `file_data` as a data: URL (an OpenAI `file_id`). */
export const fileByReference: Check = (provider, request) =>
  mediaOf(request).fileByReference
    ? { param: "messages", reason: `${provider} takes files only inline (file_data as a data: URL); the request has a file by id` }
    : undefined

/** A provider without file input: a request with a `file` part. */
export const fileInput: Check = (provider, request) =>
  mediaOf(request).file ? { param: "messages", reason: `${provider} takes no file input (the request has a file part)` } : undefined

/** The id of the first history tool call whose arguments are not a JSON object, read once per request. */
const badArgumentsSeen = new WeakMap<ChatRequest, string | null>()

const badArgumentsOf = (request: ChatRequest): string | null => {
  const seen = badArgumentsSeen.get(request)
  if (seen !== undefined) return seen
  let found: string | null = null
  for (const message of request.messages) {
    if (message.role !== "assistant" || message.tool_calls === undefined) continue
    const bad = message.tool_calls.find((call) => parseToolArguments(call.function.arguments) === undefined)
    if (bad !== undefined) {
      found = bad.id
      break
    }
  }
  badArgumentsSeen.set(request, found)
  return found
}

/**
 * A provider that takes a history tool call's arguments only as a JSON
 * object (Anthropic's `input`, Gemini's `args`, Ollama's `arguments`): a
 * call whose arguments string is not one (invalid JSON a model wrote, cut at
 * its token limit, say), which OpenAI takes as it is.
 */
export const toolArgumentsNotObject: Check = (provider, request) => {
  const id = badArgumentsOf(request)
  return id === null
    ? undefined
    : { param: "messages", reason: `${provider} takes tool-call arguments only as a JSON object (those of tool call ${shownToolId(id)} are not one)` }
}

/** `Provider.cannotServe` from checks: the first thing of a request `provider` would drop on a model. */
export const cannotServe = (provider: string, ...checks: ReadonlyArray<Check>) => (request: ChatRequest, model: ModelMetadata): Unsupported | undefined => {
  for (const check of checks) {
    const unsupported = check(provider, request, model)
    if (unsupported !== undefined) return unsupported
  }
  return undefined
}
