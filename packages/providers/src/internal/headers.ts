/**
 * Parsers for the headers providers use to talk about limits and retries.
 * Each adapter knows its own header names; these read the value formats.
 */
import type { Headers } from "@effect/platform"

/** A header value (names are lower case), or undefined. */
export const header = (headers: Headers.Headers, name: string): string | undefined => {
  const value = headers[name.toLowerCase()]
  return value === undefined || value === "" ? undefined : value
}

const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

const isDigit = (code: number) => code >= 48 && code <= 57

/** The end of the number (`\d+(?:\.\d+)?`) at `from`, or -1 when there is none. */
const numberEnd = (text: string, from: number): number => {
  let i = from
  while (i < text.length && isDigit(text.charCodeAt(i))) i++
  if (i === from) return -1
  if (text.charCodeAt(i) === 46 && isDigit(text.charCodeAt(i + 1))) {
    i += 2
    while (i < text.length && isDigit(text.charCodeAt(i))) i++
  }
  return i
}

/** The unit (`ns|us|µs|ms|s|m|h`) at `at`, or undefined. */
const unitAt = (text: string, at: number): string | undefined => {
  const two = text.slice(at, at + 2)
  if (two === "ms" || two === "ns" || two === "us" || two === "µs") return two
  const one = text.charAt(at)
  return one === "s" || one === "m" || one === "h" ? one : undefined
}

/**
 * A Go-style duration (`6m0s`, `1s`, `20ms`, `1h2m3.5s`, `0.5s`) in
 * milliseconds; a bare number is read as seconds. Undefined when it does not
 * parse. Read by a scanner (what the patterns
 * `^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$` and `^\d+(?:\.\d+)?$`
 * accept, the same numbers): OpenAI sends two per answer, and the regular
 * expressions with `matchAll` were ~0.5 us each.
 */
export const parseDuration = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  let total = 0
  let at = 0
  while (at < text.length) {
    const end = numberEnd(text, at)
    if (end < 0) return undefined
    const unit = unitAt(text, end)
    if (unit === undefined) {
      // Only a bare number (the whole text) has no unit: seconds.
      return at === 0 && end === text.length ? Number(text) * 1000 : undefined
    }
    total += Number(text.slice(at, end)) * unitMs[unit]!
    at = end + unit.length
  }
  return at === 0 || !Number.isFinite(total) ? undefined : total
}

/** A non-negative integer header value, or undefined. */
export const parseCount = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : undefined
}

/**
 * `retry-after`: delay-seconds or an HTTP date (relative to `nowMs`), in
 * milliseconds, never negative. Undefined when absent or unreadable.
 */
export const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

/** `retry-after-ms`: a number of milliseconds. */
export const parseRetryAfterMs = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return undefined
  return Number(value)
}

/**
 * The retry hint of an answer from the standard headers: `retry-after-ms`
 * wins over `retry-after` (as the OpenAI SDK does).
 */
export const standardRetryAfter = (headers: Headers.Headers, nowMs: number): number | undefined =>
  parseRetryAfterMs(header(headers, "retry-after-ms")) ?? parseRetryAfter(header(headers, "retry-after"), nowMs)

/** Drop undefined fields, so optional Schema fields stay absent. */
export const compact = <A extends Record<string, unknown>>(
  a: A
): { [K in keyof A]?: Exclude<A[K], undefined> } => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = v
  return out as { [K in keyof A]?: Exclude<A[K], undefined> }
}
