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
const durationRe = /^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$/
const partRe = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g

/**
 * A Go-style duration (`6m0s`, `1s`, `20ms`, `1h2m3.5s`, `0.5s`) in
 * milliseconds; a bare number is read as seconds. Undefined when it does not parse.
 */
export const parseDuration = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  if (!durationRe.test(text)) return undefined
  let total = 0
  for (const match of text.matchAll(partRe)) total += Number(match[1]) * (unitMs[match[2]!] ?? 0)
  return Number.isFinite(total) ? total : undefined
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
