/**
 * `GET /v1/metrics` and `GET /admin/costs` refuse a query parameter they do
 * not take (a misspelt `agent=` for `agentType`, `form=` for `from`) and one
 * given twice, with a 400 `invalid_query` naming it and listing the ones they
 * take, as the chat body's `modelgate` object refuses an unknown field. Before,
 * both were ignored: the caller got an unfiltered answer and took it as filtered.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { type Reply, request } from "./support/Client.js"
import { echoGateway, seen, serverLayer } from "./support/Doubles.js"

const admin = { authorization: "Bearer master" }

const refused = (reply: Reply, param: string, known: string) => {
  assert.strictEqual(reply.status, 400, reply.text)
  assert.strictEqual(reply.json.error.code, "invalid_query")
  assert.strictEqual(reply.json.error.type, "invalid_request_error")
  assert.strictEqual(reply.json.error.param, param)
  assert.strictEqual(reply.json.error.message, `invalid '${param}': is unexpected, expected: ${known}`)
}

describe("unknown query parameters", () => {
  layer(serverLayer(echoGateway, { masterKey: "master" }), { excludeTestServices: true })((it) => {
    it.effect("/v1/metrics answers 400 naming an unknown parameter and listing the known ones; no query runs", () =>
      Effect.gen(function* () {
        for (const query of ["agent=planner", "model=gpt-test&form=24h", "models=gpt-test", "__proto__=x"]) {
          seen.metrics = undefined
          const param = query.split("&").at(-1)!.split("=")[0]!
          refused(yield* request(`/v1/metrics?${query}`, { headers: admin }), param, `"from" | "to" | "model" | "provider" | "agentType"`)
          assert.isUndefined(seen.metrics, `${query}: no query ran`)
        }
      }))

    it.effect("/admin/costs answers 400 naming an unknown parameter and listing the known ones; no query runs", () =>
      Effect.gen(function* () {
        for (const query of ["form=7d", "by=model&group=day", "agentType=planner"]) {
          seen.costs = undefined
          const param = query.split("&").at(-1)!.split("=")[0]!
          refused(yield* request(`/admin/costs?${query}`, { headers: admin }), param, `"from" | "to" | "by"`)
          assert.isUndefined(seen.costs, `${query}: no query ran`)
        }
      }))

    it.effect("a parameter given twice is a 400 naming it (only one value could be used)", () =>
      Effect.gen(function* () {
        seen.metrics = undefined
        const metrics = yield* request("/v1/metrics?model=a&model=b", { headers: admin })
        assert.strictEqual(metrics.status, 400, metrics.text)
        assert.strictEqual(metrics.json.error.code, "invalid_query")
        assert.strictEqual(metrics.json.error.param, "model")
        assert.include(metrics.json.error.message, "more than once")
        assert.isUndefined(seen.metrics)
        const costs = yield* request("/admin/costs?by=day&by=model", { headers: admin })
        assert.strictEqual(costs.status, 400, costs.text)
        assert.strictEqual(costs.json.error.param, "by")
      }))

    it.effect("/admin/costs: a 'by' it does not take is a 400 listing every grouping it takes", () =>
      Effect.gen(function* () {
        const reply = yield* request("/admin/costs?by=week", { headers: admin })
        assert.strictEqual(reply.status, 400, reply.text)
        assert.strictEqual(reply.json.error.param, "by")
        assert.strictEqual(reply.json.error.message, `invalid 'by': expected one of day, month, model, provider, agent, agentType, key, none, got "week"`)
        for (const by of ["agentType", "key", "none"]) assert.strictEqual((yield* request(`/admin/costs?by=${by}`, { headers: admin })).status, 200, by)
      }))

    it.effect("every parameter the routes take is still answered", () =>
      Effect.gen(function* () {
        const metrics = yield* request("/v1/metrics?from=1700000000000&to=1800000000000&model=gpt-test&provider=openai&agentType=planner", { headers: admin })
        assert.strictEqual(metrics.status, 200, metrics.text)
        assert.deepStrictEqual(seen.metrics, { from: 1_700_000_000_000, to: 1_800_000_000_000, model: "gpt-test", provider: "openai", agentType: "planner" })
        const costs = yield* request("/admin/costs?from=1700000000000&to=1800000000000&by=model", { headers: admin })
        assert.strictEqual(costs.status, 200, costs.text)
        assert.deepStrictEqual(seen.costs, { from: 1_700_000_000_000, to: 1_800_000_000_000, groupBy: "model" })
        assert.strictEqual((yield* request("/v1/metrics", { headers: admin })).status, 200)
        assert.strictEqual((yield* request("/admin/costs?", { headers: admin })).status, 200)
      }))
  })
})
