/**
 * A key the gateway refuses (401: a rotated master key, a revoked virtual
 * key) is not asked with again on every refresh: a tab left open would
 * otherwise send four refused calls every 5 s for as long as it stays open.
 * The page keeps showing the refusal, reads what needs no key, and asks
 * again with the next key its user gives.
 */
import { describe, expect, it } from "@effect/vitest"
import { JSDOM } from "jsdom"
import { start } from "../src/Dashboard.js"

const ready = {
  status: "ready",
  keyRequired: true,
  providers: [{ provider: "openai", ready: true, requiresKey: true, hasKey: true, availableModels: ["gpt-4o-mini"], unavailableModels: [] }]
}

const page = () => {
  const { window } = new JSDOM(`<main id="dashboard"></main>`, { url: "http://gateway/dashboard" })
  const document = window.document
  const asked: Array<{ readonly path: string; readonly key: string | undefined }> = []
  const fetch = (async (input: string, init?: RequestInit) => {
    const path = input.slice("http://gateway".length)
    const key = (init?.headers as Record<string, string> | undefined)?.["authorization"]?.slice("Bearer ".length)
    asked.push({ path, key })
    if (path === "/ready") return Response.json(ready)
    // The good key's answers do not matter here: that it is asked with does.
    if (key === "good-key") return new Response("{}", { status: 500 })
    return Response.json({ error: { message: "invalid API key", type: "authentication_error", code: "invalid_api_key" } }, { status: 401 })
  }) as unknown as typeof globalThis.fetch
  const items = new Map<string, string>([["modelgate.dashboard.key", "rotated-key"]])
  const storage = { getItem: (name: string) => items.get(name) ?? null, setItem: (name: string, value: string) => void items.set(name, value), removeItem: (name: string) => void items.delete(name) }
  const timers = { setTimeout: () => undefined, clearTimeout: () => undefined }
  const dashboard = start({ document, root: document.getElementById("dashboard")!, base: "http://gateway", fetch, storage, timers, refreshMs: 0 })
  return { dashboard, asked, text: (id: string) => document.getElementById(id)?.textContent ?? "" }
}

describe("the dashboard with a key the gateway refuses", () => {
  it("stops asking with it after the 401, still says so and shows the providers, and asks with the next key", async () => {
    const { asked, dashboard, text } = page()
    await dashboard.refresh()
    expect(text("costs")).toBe("401: invalid API key")
    expect(text("key-state")).toBe("the gateway refused this key (401): use another")
    const refused = asked.length

    // Later refreshes (every 5 s while the tab is open): /ready alone, the refusal still shown.
    await dashboard.refresh()
    await dashboard.refresh()
    expect(asked.slice(refused).map((call) => call.path)).toEqual(["/ready", "/ready"])
    expect(text("costs")).toBe("401: invalid API key")
    expect(text("models")).toBe("401: invalid API key")
    expect(text("key-state")).toBe("the gateway refused this key (401): use another")
    expect(text("status")).toContain("openai")

    // Another key is asked with at once.
    await dashboard.useKey("good-key")
    expect(asked.filter((call) => call.key === "good-key").map((call) => call.path)).toEqual(
      expect.arrayContaining(["/v1/metrics?from=7d", "/admin/costs?by=model&from=7d", "/admin/budgets", "/admin/health"])
    )
    expect(text("key-state")).toBe("key in use (kept for this tab only)")
    dashboard.stop()
  })
})
