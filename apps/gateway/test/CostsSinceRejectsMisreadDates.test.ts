/**
 * `modelgate costs --since` (and `from` / `to` of the metrics and costs
 * endpoints) take "24h|7d|ISO date" (README). A value that is none of those
 * must be an error naming it, never a silently different instant: V8's
 * `Date.parse` reads `12/01` as 2001-12-01, `day 7` as 2001-07-01 and
 * `2026-02-30` as 2026-03-02.
 */
import { assert, describe, it } from "@effect/vitest"
import { parseInstant } from "../src/http/Metrics.js"

const now = Date.UTC(2026, 10, 26, 12)

describe("--since / from / to parsing", () => {
  it("rejects what is not a span, epoch ms or a real ISO date", () => {
    for (const value of ["12/01", "day 7", "week 2", "month 1", "2026-02-30", "2026-13-01"]) {
      assert.isUndefined(parseInstant(value, now), `${JSON.stringify(value)} read as ${new Date(parseInstant(value, now) ?? 0).toISOString()}`)
    }
  })

  it("still takes spans, epoch ms and ISO dates", () => {
    assert.strictEqual(parseInstant("24h", now), now - 86_400_000)
    assert.strictEqual(parseInstant("7d", now), now - 7 * 86_400_000)
    assert.strictEqual(parseInstant("1700000000000", now), 1_700_000_000_000)
    assert.strictEqual(parseInstant("2026-01-31", now), Date.UTC(2026, 0, 31))
    assert.strictEqual(parseInstant("2026-01-31T12:00:00Z", now), Date.UTC(2026, 0, 31, 12))
    assert.strictEqual(parseInstant("2026-01-31T12:00:00.500+01:00", now), Date.UTC(2026, 0, 31, 11, 0, 0, 500))
    assert.strictEqual(parseInstant("2024-02-29", now), Date.UTC(2024, 1, 29))
  })

  it("reads a date-time without a zone in UTC, as a date alone and the `by=day` groups are, whatever the host's zone", () => {
    const zone = process.env.TZ
    process.env.TZ = "America/New_York"
    try {
      assert.strictEqual(parseInstant("2026-01-31", now), Date.UTC(2026, 0, 31))
      assert.strictEqual(parseInstant("2026-01-31T00:00", now), Date.UTC(2026, 0, 31))
      assert.strictEqual(parseInstant("2026-01-31T12:30:15.250", now), Date.UTC(2026, 0, 31, 12, 30, 15, 250))
      assert.strictEqual(parseInstant("2026-01-31T12:00:00-05:00", now), Date.UTC(2026, 0, 31, 17))
    } finally {
      if (zone === undefined) delete process.env.TZ
      else process.env.TZ = zone
    }
  })
})
