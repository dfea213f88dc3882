/** How the dashboard writes numbers, money, durations and times. */

/** US dollars: up to 6 decimals below a cent (LLM calls cost fractions of one), else 2. */
export const usd = (value: number): string => {
  if (value === 0) return "$0"
  const digits = Math.abs(value) < 0.01 ? 6 : 2
  return `$${value.toFixed(digits)}`
}

/** A count with thousands separators. */
export const count = (value: number): string => Math.round(value).toLocaleString("en-US")

/** Milliseconds, or a dash when unknown. */
export const ms = (value: number | null | undefined): string => (value === null || value === undefined ? "–" : `${Math.round(value)} ms`)

/** A fraction as a percentage, or a dash when unknown. */
export const percent = (value: number | null | undefined): string =>
  value === null || value === undefined ? "–" : `${(value * 100).toFixed(value > 0 && value < 0.1 ? 1 : 0)}%`

/** An instant (epoch ms) as UTC time of day, `HH:MM:SS`. */
export const timeOfDay = (at: number): string => new Date(at).toISOString().slice(11, 19)

/** An instant (epoch ms) as a UTC date and time, `YYYY-MM-DD HH:MM`. */
export const dateTime = (at: number): string => new Date(at).toISOString().slice(0, 16).replace("T", " ")
