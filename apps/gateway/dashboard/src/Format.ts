/** How the dashboard writes numbers, money, durations and times. */

/**
 * US dollars: 2 decimals from a cent up, thousands grouped; below a cent (LLM
 * calls cost fractions of one) at least 6 decimals and always 2 significant
 * digits, so a tiny cost never reads as zero; the minus before the `$`.
 */
export const usd = (value: number): string => {
  if (value === 0) return "$0"
  const size = Math.abs(value)
  const digits = size < 0.01 ? Math.min(20, Math.max(6, 1 - Math.floor(Math.log10(size)))) : 2
  return `${value < 0 ? "-" : ""}$${size.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`
}

/** A count with thousands separators. */
export const count = (value: number): string => Math.round(value).toLocaleString("en-US")

/** A count of `noun`s, the noun in the singular for one: `1 request`, `2 requests`. */
export const counted = (value: number, noun: string): string => `${count(value)} ${Math.round(value) === 1 ? noun : `${noun}s`}`

/** Milliseconds, or a dash when unknown. */
export const ms = (value: number | null | undefined): string => (value === null || value === undefined ? "–" : `${Math.round(value)} ms`)

/** A fraction as a percentage (one decimal below 10%, `<0.1%` for less but not none), or a dash when unknown. */
export const percent = (value: number | null | undefined): string => {
  if (value === null || value === undefined) return "–"
  if (value > 0 && value < 0.001) return "<0.1%"
  return `${(value * 100).toFixed(value > 0 && value < 0.1 ? 1 : 0)}%`
}

/** An instant (epoch ms) as UTC time of day, `HH:MM:SS`. */
export const timeOfDay = (at: number): string => new Date(at).toISOString().slice(11, 19)

/** An instant (epoch ms) as a UTC date and time, `YYYY-MM-DD HH:MM`. */
export const dateTime = (at: number): string => new Date(at).toISOString().slice(0, 16).replace("T", " ")
