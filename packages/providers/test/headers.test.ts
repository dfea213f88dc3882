import { assert, describe, it } from "@effect/vitest"
import { Headers } from "@effect/platform"
import * as fc from "fast-check"
import { parseDuration } from "../src/internal/headers.js"
import { rateLimitInfo } from "../src/OpenAi/errors.js"

/** The regular-expression reading of a Go-style duration, as it was first written: the reference. */
const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const reference = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  if (!/^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined
  let total = 0
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(match[1]) * (unitMs[match[2]!] ?? 0)
  return Number.isFinite(total) ? total : undefined
}

const token = fc.constantFrom("0", "1", "6", "20", "3.5", "0.25", ".", "ns", "us", "µs", "ms", "s", "m", "h", "mh", " ", "x", "e5", "٣")
const duration = fc.oneof(
  fc.array(token, { maxLength: 7 }).map((parts) => parts.join("")),
  fc.array(fc.tuple(fc.stringMatching(/^\d{1,4}(\.\d{1,3})?$/), fc.constantFrom("ns", "us", "µs", "ms", "s", "m", "h")), { minLength: 1, maxLength: 4 })
    .map((parts) => parts.map(([n, u]) => n + u).join("")),
  fc.string({ maxLength: 6 })
)

describe("provider headers", () => {
  it("parseDuration reads exactly what the duration patterns accept, to the same number", () => {
    let parsed = 0
    let rejected = 0
    fc.assert(
      fc.property(duration, (text) => {
        const expected = reference(text)
        if (expected === undefined) rejected++
        else parsed++
        assert.strictEqual(parseDuration(text), expected, JSON.stringify(text))
      }),
      { numRuns: 3000 }
    )
    assert.isAbove(parsed, 500)
    assert.isAbove(rejected, 500)
  })

  it("OpenAI's rate-limit headers read into the fields that parse, in order; none is undefined", () => {
    const info = rateLimitInfo(Headers.fromInput({
      "x-ratelimit-limit-requests": "10000",
      "x-ratelimit-remaining-requests": "9999",
      "x-ratelimit-remaining-tokens": "lots",
      "x-ratelimit-reset-requests": "6ms",
      "x-ratelimit-reset-tokens": "1m0.5s"
    }))
    assert.deepStrictEqual(info && { ...info }, { limitRequests: 10_000, remainingRequests: 9_999, resetRequestsMs: 6, resetTokensMs: 60_500 })
    assert.deepStrictEqual(Object.keys(info ?? {}), ["limitRequests", "remainingRequests", "resetRequestsMs", "resetTokensMs"])
    assert.isUndefined(rateLimitInfo(Headers.fromInput({ "content-type": "application/json" })))
  })
})
