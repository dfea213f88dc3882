/**
 * Exact money. Prices are configured in USD per 1M tokens; costs are integers
 * in pico-dollars (1e-12 USD), so `tokens x price` is exact for any price with
 * up to six decimals and sums never accumulate float error.
 */
import { Schema } from "effect"

/** An exact amount in pico-dollars (1e-12 USD). */
export const PicoUsd = Schema.Int.pipe(Schema.brand("PicoUsd"))
export type PicoUsd = typeof PicoUsd.Type

const PICO_PER_USD = 1_000_000_000_000

/** The integer pico-dollar price of one token, for a price in USD per 1M tokens. */
export const perTokenPico = (usdPerMillion: number): number => Math.round(usdPerMillion * 1_000_000)

/** Cost of `tokens` at `usdPerMillion`, in pico-dollars. */
export const tokenCost = (tokens: number, usdPerMillion: number): PicoUsd =>
  (tokens * perTokenPico(usdPerMillion)) as PicoUsd

/** Pico-dollars to a USD number (for display and JSON). */
export const toUsd = (pico: number | bigint): number =>
  typeof pico === "bigint" ? Number(pico) / PICO_PER_USD : pico / PICO_PER_USD

/**
 * The largest pico-dollar amount a record's number field holds exactly:
 * 2^53 - 1 (`Number.MAX_SAFE_INTEGER`, about $9,007).
 */
export const MAX_SAFE_PICO: bigint = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * A pico-dollar `bigint` as a safe-integer number: amounts above
 * `MAX_SAFE_PICO` are capped to it, smaller ones are exact (a negative one is
 * kept: callers that need a non-negative field clamp it first).
 */
export const picoToSafeNumber = (pico: bigint): number => Number(pico > MAX_SAFE_PICO ? MAX_SAFE_PICO : pico)

/** A USD amount (config budgets) to pico-dollars. */
export const fromUsd = (usd: number): PicoUsd => Math.round(usd * PICO_PER_USD) as PicoUsd
