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

/** A USD amount (config budgets) to pico-dollars. */
export const fromUsd = (usd: number): PicoUsd => Math.round(usd * PICO_PER_USD) as PicoUsd
