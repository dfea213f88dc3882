/**
 * Exact prices: integer pico-dollars computed with `bigint`.
 */
import type { Pricing } from "@modelgate/domain/Model"
import { perTokenPico, type PicoUsd } from "@modelgate/domain/Money"

/**
 * Token counts of one request; `cachedTokens` is the part of `promptTokens`
 * served from the provider's prompt cache, `cacheWriteTokens` the part
 * written to it (Anthropic bills those above the input price).
 */
export interface TokenUsage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens: number
  readonly cacheWriteTokens?: number | undefined
}

/**
 * Exact cost: uncached prompt tokens at the input price, cached tokens at the
 * cached price and tokens written to the cache at the cache-write price (each
 * the input price when the model has none), completion tokens at the output
 * price. Cached and written tokens above the prompt count are capped to it.
 * Exact as long as one request costs less than 2^53 pico-dollars (~$9,007).
 */
export const computeCost = (pricing: Pricing, usage: TokenUsage): PicoUsd => {
  const cached = Math.min(usage.cachedTokens, usage.promptTokens)
  const written = Math.min(usage.cacheWriteTokens ?? 0, usage.promptTokens - cached)
  const uncached = usage.promptTokens - cached - written
  const inputPico = perTokenPico(pricing.inputPerMillion)
  const cachedPico = perTokenPico(pricing.cachedInputPerMillion ?? pricing.inputPerMillion)
  const writtenPico = perTokenPico(pricing.cacheWriteInputPerMillion ?? pricing.inputPerMillion)
  const outputPico = perTokenPico(pricing.outputPerMillion)
  // Number arithmetic when it is exact (non-negative safe integers and a safe total: every product
  // and partial sum is then at most the total, so none was rounded); bigint otherwise, as before.
  if (
    uncached >= 0 && cached >= 0 && written >= 0 && usage.completionTokens >= 0 &&
    Number.isSafeInteger(uncached) && Number.isSafeInteger(cached) && Number.isSafeInteger(written) &&
    Number.isSafeInteger(usage.completionTokens) &&
    inputPico >= 0 && cachedPico >= 0 && writtenPico >= 0 && outputPico >= 0
  ) {
    const fast = uncached * inputPico + cached * cachedPico + written * writtenPico + usage.completionTokens * outputPico
    if (fast <= Number.MAX_SAFE_INTEGER) return fast as PicoUsd
  }
  const total =
    BigInt(uncached) * BigInt(inputPico) +
    BigInt(cached) * BigInt(cachedPico) +
    BigInt(written) * BigInt(writtenPico) +
    BigInt(usage.completionTokens) * BigInt(outputPico)
  return Number(total) as PicoUsd
}
