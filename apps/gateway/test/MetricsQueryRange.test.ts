/**
 * `from` / `to` of `GET /v1/metrics` and `GET /admin/costs`: a range that
 * ends before it starts, or an instant no clock can hold (digits past
 * `Number.MAX_VALUE`, dates past year 275760), is a 400 naming the parameter
 * and its value. Before, both were taken: an inverted range answered empty
 * metrics (as if nothing happened), and `from=999…9` answered 200 with
 * `"from": null` in the echoed filter, the filter silently unreadable.
 * `to` is exclusive; a date alone as `to` (`2026-01-31`) includes that whole
 * day (the range ends at the next midnight UTC), as `from=2026-01-01&to=2026-01-31`
 * is meant: all of January. Before, it ended at the day's first instant and
 * left the 31st out.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { request } from "./support/Client.js"
import { echoGateway, seen, serverLayer } from "./support/Doubles.js"

const huge = "9".repeat(400)

describe("metrics and costs query range", () => {
  layer(serverLayer(echoGateway, { masterKey: "master" }), { excludeTestServices: true })((it) => {
    const admin = { authorization: "Bearer master" }

    it.effect("'from' after 'to' is a 400 naming both, on /v1/metrics and /admin/costs", () =>
      Effect.gen(function* () {
        seen.metrics = undefined
        seen.costs = undefined
        const metrics = yield* request("/v1/metrics?from=2026-02-01&to=2026-01-01", { headers: admin })
        assert.strictEqual(metrics.status, 400, metrics.text)
        assert.strictEqual(metrics.json.error.param, "from")
        assert.include(metrics.json.error.message, "2026-02-01")
        assert.include(metrics.json.error.message, "2026-01-01")
        assert.isUndefined(seen.metrics, "no query ran")
        const costs = yield* request("/admin/costs?from=7d&to=30d", { headers: admin })
        assert.strictEqual(costs.status, 400, costs.text)
        assert.strictEqual(costs.json.error.param, "from")
        assert.include(costs.json.error.message, "30d")
        assert.isUndefined(seen.costs, "no query ran")
      }))

    it.effect("an empty range (from = to) and an open end are still answered", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* request("/v1/metrics?from=1700000000000&to=1700000000000", { headers: admin })).status, 200)
        assert.deepStrictEqual(seen.metrics, { from: 1_700_000_000_000, to: 1_700_000_000_000 })
        assert.strictEqual((yield* request("/v1/metrics?from=24h", { headers: admin })).status, 200)
      }))

    it.effect("a date alone as 'to' includes that whole day; a time, epoch ms or a span is the exclusive end itself", () =>
      Effect.gen(function* () {
        const costs = yield* request("/admin/costs?from=2026-01-01&to=2026-01-31&by=none", { headers: admin })
        assert.strictEqual(costs.status, 200, costs.text)
        assert.deepStrictEqual(seen.costs, { from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 1, 1), groupBy: "none" }, "all of January")
        assert.strictEqual(costs.json.to, Date.UTC(2026, 1, 1), "the answer echoes the end it used")
        assert.strictEqual((yield* request("/admin/costs?from=2026-01-31&to=2026-01-31", { headers: admin })).status, 200)
        assert.deepStrictEqual([seen.costs?.from, seen.costs?.to], [Date.UTC(2026, 0, 31), Date.UTC(2026, 1, 1)], "one day")
        assert.strictEqual((yield* request("/v1/metrics?to=2026-12-31", { headers: admin })).status, 200)
        assert.deepStrictEqual(seen.metrics, { to: Date.UTC(2027, 0, 1) }, "the same on /v1/metrics, across a year's end")
        assert.strictEqual((yield* request("/admin/costs?to=2026-01-31T00:00", { headers: admin })).status, 200)
        assert.strictEqual(seen.costs?.to, Date.UTC(2026, 0, 31), "a time is the end itself")
        assert.strictEqual((yield* request(`/admin/costs?to=${Date.UTC(2026, 0, 31)}`, { headers: admin })).status, 200)
        assert.strictEqual(seen.costs?.to, Date.UTC(2026, 0, 31), "epoch ms is the end itself")
      }))

    it.effect("a 'from' after a date alone as 'to' (its day included) is still a 400, however close", () =>
      Effect.gen(function* () {
        // `to=2026-01-30` ends at the 31st's midnight: a `from` on the 31st, or at that midnight, is after the day asked for.
        for (const query of ["from=2026-01-31&to=2026-01-30", "from=2026-02-01&to=2026-01-31", "from=2026-01-31T00:00Z&to=2026-01-30"]) {
          seen.metrics = undefined
          const metrics = yield* request(`/v1/metrics?${query}`, { headers: admin })
          assert.strictEqual(metrics.status, 400, `${query}: ${metrics.text}`)
          assert.strictEqual(metrics.json.error.param, "from")
          assert.isUndefined(seen.metrics, `${query}: no query ran`)
        }
        seen.costs = undefined
        const costs = yield* request("/admin/costs?from=2026-01-31&to=2026-01-30", { headers: admin })
        assert.strictEqual(costs.status, 400, costs.text)
        assert.include(costs.json.error.message, "2026-01-30")
        assert.isUndefined(seen.costs, "no query ran")
        // The day's last instant is still in it.
        assert.strictEqual((yield* request("/v1/metrics?from=2026-01-30T23:59:59.999Z&to=2026-01-30", { headers: admin })).status, 200)
      }))

    it.effect("an instant out of any date's range is a 400 naming the parameter and the value", () =>
      Effect.gen(function* () {
        for (const [name, value] of [["from", huge], ["to", "99999999999999999999"], ["from", `${huge}d`], ["to", "275761-01-01"]] as const) {
          seen.metrics = undefined
          const reply = yield* request(`/v1/metrics?${name}=${value}`, { headers: admin })
          assert.strictEqual(reply.status, 400, `${name}=${value}: ${reply.text}`)
          assert.strictEqual(reply.json.error.param, name)
          assert.include(reply.json.error.message, value.slice(0, 20))
          assert.isUndefined(seen.metrics, `${name}=${value}: no query ran`)
        }
        const costs = yield* request(`/admin/costs?to=${huge}`, { headers: admin })
        assert.strictEqual(costs.status, 400, costs.text)
        assert.strictEqual(costs.json.error.param, "to")
      }))

    it.effect("a zone offset written as the README writes it (`+01:00`, unescaped in the URL) is that offset", () =>
      Effect.gen(function* () {
        // A query's `+` decodes as a space (`2026-01-31T09:00 01:00`): the README's example must still work.
        const metrics = yield* request("/v1/metrics?from=2026-01-31T09:00+01:00&to=2026-01-31T10:00:00.5+01:00", { headers: admin })
        assert.strictEqual(metrics.status, 200, metrics.text)
        assert.deepStrictEqual(seen.metrics, { from: Date.UTC(2026, 0, 31, 8), to: Date.UTC(2026, 0, 31, 9, 0, 0, 500) })
        const costs = yield* request("/admin/costs?from=2026-01-31T09:00+01:00", { headers: admin })
        assert.strictEqual(costs.status, 200, costs.text)
        assert.strictEqual(costs.json.from, Date.UTC(2026, 0, 31, 8))
      }))
  })
})
