/**
 * Exact prices: integer pico-dollars computed with `bigint`.
 */
import type { ChatRequest, Usage } from "@modelgate/domain/Chat"
import type { ModelMetadata, Pricing } from "@modelgate/domain/Model"
import { perTokenPico, type PicoUsd } from "@modelgate/domain/Money"
import { nonTextPartTokens } from "../TokenEstimator.js"

/**
 * Token counts of one request; `cachedTokens` is the part of `promptTokens`
 * served from the provider's prompt cache, `cacheWriteTokens` the part
 * written to it (Anthropic bills those above the input price),
 * `cacheWriteHourTokens` the part of those written for an hour, and
 * `audioTokens` the audio input (billed at the audio price where a model has
 * one), `cachedAudioTokens` the audio among the cached tokens (billed at the
 * cached audio price).
 */
export interface TokenUsage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens: number
  readonly cacheWriteTokens?: number | undefined
  readonly cacheWriteHourTokens?: number | undefined
  readonly audioTokens?: number | undefined
  readonly cachedAudioTokens?: number | undefined
}

/**
 * The token counts an answer's usage is priced by: its prompt and
 * completion, the prompt's cache reads (`cached_tokens`), writes
 * (`cache_creation_tokens`, `cache_creation_1h_tokens` of them for an hour)
 * and audio (`audio_tokens`, `cached_audio_tokens` of it read from the cache).
 */
export const tokenUsageOf = (usage: Usage): TokenUsage => {
  const details = usage.prompt_tokens_details
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    cachedTokens: details?.cached_tokens ?? 0,
    cacheWriteTokens: details?.cache_creation_tokens,
    cacheWriteHourTokens: details?.cache_creation_1h_tokens,
    audioTokens: details?.audio_tokens,
    cachedAudioTokens: details?.cached_audio_tokens
  }
}

const isCount = (n: number): boolean => n >= 0 && Number.isSafeInteger(n)

/** One set of prices (a model's, or its long-context ones). */
type Prices = Omit<Pricing, "longContext">

/** The prices `usage` is billed at: the long-context ones when its prompt is over their threshold. */
const pricesFor = (pricing: Pricing, usage: TokenUsage): Prices => {
  const long = pricing.longContext
  return long !== undefined && usage.promptTokens > long.aboveTokens ? long : pricing
}

/**
 * Exact cost: uncached prompt tokens at the input price (the audio among
 * them at the audio price), cached tokens at the cached price (the audio
 * among them at the cached audio price), tokens
 * written to the cache at the cache-write price of their lifetime (see
 * `Pricing`), completion tokens at the output price; all at the long-context
 * prices when the prompt is over their threshold. Cached and written tokens
 * above the prompt count are capped to it, hour writes to the writes, cached
 * audio to the cached tokens, the rest of the audio to the uncached rest.
 * Exact as long as one request costs less than 2^53 pico-dollars (~$9,007).
 */
export const computeCost = (modelPricing: Pricing, usage: TokenUsage): PicoUsd => {
  const pricing = pricesFor(modelPricing, usage)
  const cachedAll = Math.min(usage.cachedTokens, usage.promptTokens)
  const cachedAudio = Math.min(usage.cachedAudioTokens ?? 0, cachedAll)
  const cached = cachedAll - cachedAudio
  const written = Math.min(usage.cacheWriteTokens ?? 0, usage.promptTokens - cachedAll)
  const hour = Math.min(usage.cacheWriteHourTokens ?? 0, written)
  const minutes = written - hour
  const fresh = usage.promptTokens - cachedAll - written
  const audio = Math.min(Math.max(0, (usage.audioTokens ?? 0) - cachedAudio), fresh)
  const uncached = fresh - audio
  const inputPico = perTokenPico(pricing.inputPerMillion)
  const audioPico = perTokenPico(pricing.audioInputPerMillion ?? pricing.inputPerMillion)
  const cachedPrice = pricing.cachedInputPerMillion ?? pricing.inputPerMillion
  const cachedPico = perTokenPico(cachedPrice)
  const cachedAudioPico = perTokenPico(pricing.cachedAudioInputPerMillion ?? cachedPrice)
  const writePrice = pricing.cacheWriteInputPerMillion ?? pricing.inputPerMillion
  const minutesPico = perTokenPico(writePrice)
  const hourPico = perTokenPico(pricing.cacheWriteHourInputPerMillion ?? writePrice)
  const outputPico = perTokenPico(pricing.outputPerMillion)
  // Number arithmetic when it is exact (non-negative safe integers and a safe total: every product
  // and partial sum is then at most the total, so none was rounded); bigint otherwise, as before.
  const completion = usage.completionTokens
  if (
    isCount(uncached) && isCount(audio) && isCount(cached) && isCount(cachedAudio) && isCount(minutes) && isCount(hour) &&
    isCount(completion) && inputPico >= 0 && audioPico >= 0 && cachedPico >= 0 && cachedAudioPico >= 0 && minutesPico >= 0 &&
    hourPico >= 0 && outputPico >= 0
  ) {
    const fast = uncached * inputPico + audio * audioPico + cached * cachedPico + cachedAudio * cachedAudioPico +
      minutes * minutesPico + hour * hourPico + completion * outputPico
    if (fast <= Number.MAX_SAFE_INTEGER) return fast as PicoUsd
  }
  const total = BigInt(uncached) * BigInt(inputPico) + BigInt(audio) * BigInt(audioPico) + BigInt(cached) * BigInt(cachedPico) +
    BigInt(cachedAudio) * BigInt(cachedAudioPico) + BigInt(minutes) * BigInt(minutesPico) + BigInt(hour) * BigInt(hourPico) +
    BigInt(completion) * BigInt(outputPico)
  return Number(total) as PicoUsd
}

/**
 * The usage a call is held at against budgets (its most expensive outcome):
 * `completionTokens` of output and, when the request asks for prompt cache
 * writes (`cacheWrites`, their longest lifetime), every prompt token written;
 * `audioTokens` of the prompt at the audio price (`heldAudioTokens`).
 */
export const holdUsage = (promptTokens: number, completionTokens: number, cacheWrites: "5m" | "1h" | undefined, audioTokens = 0): TokenUsage =>
  cacheWrites === undefined
    ? audioTokens > 0 ? { promptTokens, completionTokens, cachedTokens: 0, audioTokens } : { promptTokens, completionTokens, cachedTokens: 0 }
    : { promptTokens, completionTokens, cachedTokens: 0, cacheWriteTokens: promptTokens, cacheWriteHourTokens: cacheWrites === "1h" ? promptTokens : 0 }

/** Whether `prices` bill audio input above text input. */
const audioDearerIn = (prices: Prices): boolean =>
  prices.audioInputPerMillion !== undefined && prices.audioInputPerMillion > prices.inputPerMillion

/**
 * The prompt tokens of `request` that a hold on `model` prices as audio: its
 * `input_audio` parts, as the estimate counts them (`nonTextPartTokens`
 * each), when the model bills audio above text (Gemini Flash: $1.00 per 1M
 * against $0.30), else none (held as text, the dearer). The request is read
 * only for such a model.
 */
export const heldAudioTokens = (request: ChatRequest, model: ModelMetadata): number => {
  const { pricing } = model
  if (!audioDearerIn(pricing) && (pricing.longContext === undefined || !audioDearerIn(pricing.longContext))) return 0
  let parts = 0
  for (const message of request.messages) {
    if (typeof message.content === "string" || message.content == null) continue
    for (const part of message.content) if (part.type === "input_audio") parts++
  }
  return parts * nonTextPartTokens
}
