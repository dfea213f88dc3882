/**
 * Exact prices: integer pico-dollars computed with `bigint`.
 */
import type { Pricing } from "@modelgate/domain/Model"
import { perTokenPico, type PicoUsd } from "@modelgate/domain/Money"

/**
 * Token counts of one request; `cachedTokens` is the part of `promptTokens`
 * served from the provider's prompt cache, `cacheWriteTokens` the part
 * written to it (Anthropic bills those above the input price), and
 * `cacheWriteHourTokens` the part of those written for an hour.
 */
export interface TokenUsage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens: number
  readonly cacheWriteTokens?: number | undefined
  readonly cacheWriteHourTokens?: number | undefined
}

const isCount = (n: number): boolean => n >= 0 && Number.isSafeInteger(n)

/**
 * Exact cost: uncached prompt tokens at the input price, cached tokens at the
 * cached price, tokens written to the cache at the cache-write price of their
 * lifetime (see `Pricing`), completion tokens at the output price. Cached and
 * written tokens above the prompt count are capped to it, hour writes to the
 * writes.
 * Exact as long as one request costs less than 2^53 pico-dollars (~$9,007).
 */
export const computeCost = (pricing: Pricing, usage: TokenUsage): PicoUsd => {
  const cached = Math.min(usage.cachedTokens, usage.promptTokens)
  const written = Math.min(usage.cacheWriteTokens ?? 0, usage.promptTokens - cached)
  const hour = Math.min(usage.cacheWriteHourTokens ?? 0, written)
  const minutes = written - hour
  const uncached = usage.promptTokens - cached - written
  const inputPico = perTokenPico(pricing.inputPerMillion)
  const cachedPico = perTokenPico(pricing.cachedInputPerMillion ?? pricing.inputPerMillion)
  const writePrice = pricing.cacheWriteInputPerMillion ?? pricing.inputPerMillion
  const minutesPico = perTokenPico(writePrice)
  const hourPico = perTokenPico(pricing.cacheWriteHourInputPerMillion ?? writePrice)
  const outputPico = perTokenPico(pricing.outputPerMillion)
  // Number arithmetic when it is exact (non-negative safe integers and a safe total: every product
  // and partial sum is then at most the total, so none was rounded); bigint otherwise, as before.
  const completion = usage.completionTokens
  if (
    isCount(uncached) && isCount(cached) && isCount(minutes) && isCount(hour) && isCount(completion) &&
    inputPico >= 0 && cachedPico >= 0 && minutesPico >= 0 && hourPico >= 0 && outputPico >= 0
  ) {
    const fast = uncached * inputPico + cached * cachedPico + minutes * minutesPico + hour * hourPico + completion * outputPico
    if (fast <= Number.MAX_SAFE_INTEGER) return fast as PicoUsd
  }
  const total = BigInt(uncached) * BigInt(inputPico) + BigInt(cached) * BigInt(cachedPico) + BigInt(minutes) * BigInt(minutesPico) +
    BigInt(hour) * BigInt(hourPico) + BigInt(completion) * BigInt(outputPico)
  return Number(total) as PicoUsd
}
