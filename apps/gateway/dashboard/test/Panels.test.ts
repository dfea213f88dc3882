import { describe, expect, it } from "@effect/vitest"
import { JSDOM } from "jsdom"
import * as Panels from "../src/Panels.js"

const { document } = new JSDOM("").window
const at = Date.UTC(2026, 10, 27, 9, 30, 5)

describe("the dashboard's panels", () => {
  it("name each unavailable model with its reason, and say so when the records' store fails", () => {
    const panel = Panels.readiness(document, {
      status: "ready",
      providers: [{
        provider: "google",
        ready: false,
        requiresKey: true,
        hasKey: true,
        keys: { total: 2, usable: 1 },
        availableModels: [],
        unavailableModels: [{ model: "gemini-2.5-pro", reason: "3 consecutive failures" }, { model: "gemini-2.5-flash", reason: "" }]
      }],
      records: { pending: 4, written: 10, dropped: 0, degraded: true }
    })
    const cells = [...panel.querySelectorAll("td")].map((td) => td.textContent)
    expect(cells).toEqual(["google", "not ready", "1 of 2 usable", "–", "gemini-2.5-pro (3 consecutive failures), gemini-2.5-flash"])
    expect(panel.querySelector("p")?.textContent).toBe("records: 10 written, 4 waiting, 0 dropped (the store is failing: costs wait in memory)")
  })

  it("write an event as its time, kind, model, what changed and its other fields", () => {
    const line = (event: Parameters<typeof Panels.eventLine>[1]) => Panels.eventLine(document, event).textContent
    expect(line({ _tag: "HealthChanged", at, model: "gpt-4o", from: "available", to: "unavailable", reason: "timeout" }))
      .toBe("09:30:05 HealthChanged gpt-4o available → unavailable reason=timeout")
    expect(line({ _tag: "Failover", at, requestId: "mg-1", from: "gpt-4o", to: "claude", attempt: 2 }))
      .toBe("09:30:05 Failover gpt-4o → claude attempt=2")
    expect(line({ _tag: "BudgetExceeded", at, budget: "global:daily", limit: { usd: 5 } }))
      .toBe("09:30:05 BudgetExceeded budget=global:daily limit={\"usd\":5}")
  })
})

describe("the dashboard's costs", () => {
  it("show each group's prompt tokens with their cache reads and writes, and its completion tokens with their reasoning", () => {
    const panel = Panels.costs(document, {
      by: "model",
      totalUsd: 0.0123,
      groups: [
        { key: "claude-sonnet-4", costUsd: 0.01, requests: 3, cacheHits: 1, promptTokens: 12000, completionTokens: 900, cachedTokens: 8000, cacheWriteTokens: 2500, reasoningTokens: 0 },
        // An older gateway without the breakdown: its parts read 0.
        { key: "", costUsd: 0.0023, requests: 1, cacheHits: 0, promptTokens: 40, completionTokens: 2000 }
      ]
    })
    const head = [...panel.querySelectorAll("th")].map((th) => th.textContent)
    expect(head).toEqual(["model", "Requests", "Cache hits", "Prompt tokens", "Cache reads", "Cache writes", "Completion tokens", "Reasoning", "Cost"])
    const rows = [...panel.querySelectorAll("tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent))
    expect(rows).toEqual([
      ["claude-sonnet-4", "3", "1", "12,000", "8,000", "2,500", "900", "0", "$0.01"],
      ["(none)", "1", "0", "40", "0", "0", "2,000", "0", "$0.002300"]
    ])
  })
})

describe("the dashboard's traffic line", () => {
  it("counts one request, error, hit or failover in the singular", () => {
    const figures = {
      requests: 1, successes: 0, errors: 1, cacheHits: 1, costUsd: 0, totalTokens: 1, failovers: 1, errorRate: 1,
      latencyMs: { p50: null, p95: null }
    }
    expect(Panels.totals(document, { totals: figures, models: [] }).textContent)
      .toBe("1 request, 1 error, 1 cache hit, 1 failover, 1 token, $0; latency p50 –, p95 –")
  })
})
