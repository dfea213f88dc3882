/**
 * A gateway that is up but not ready answers `/ready` with 503 and its
 * report: the page shows the report (which provider is not ready), and,
 * without a key, still learns from it whether the gateway runs without auth.
 */
import { describe, expect, it } from "@effect/vitest"
import { JSDOM } from "jsdom"
import { start } from "../src/Dashboard.js"

const report = (keyRequired: boolean) => ({
  status: "not_ready",
  keyRequired,
  providers: [{ provider: "openai", ready: false, requiresKey: true, hasKey: false, availableModels: ["gpt-4o-mini"], unavailableModels: [] }]
})

const page = (keyRequired: boolean) => {
  const { window } = new JSDOM(`<main id="dashboard"></main>`, { url: "http://gateway/dashboard" })
  const document = window.document
  const asked: Array<string> = []
  const fetch = (async (input: string) => {
    const path = input.slice("http://gateway".length)
    asked.push(path)
    return path === "/ready" ? Response.json(report(keyRequired), { status: 503 }) : new Response("{}", { status: 500 })
  }) as unknown as typeof globalThis.fetch
  const storage = { getItem: () => null, setItem: () => undefined, removeItem: () => undefined }
  const timers = { setTimeout: () => undefined, clearTimeout: () => undefined }
  const dashboard = start({ document, root: document.getElementById("dashboard")!, base: "http://gateway", fetch, storage, timers, refreshMs: 0 })
  return { dashboard, asked, text: (id: string) => document.getElementById(id)?.textContent ?? "" }
}

describe("the dashboard on a gateway that is not ready", () => {
  it("shows the providers from the 503 report and, without a key, asks /v1/* only when the gateway runs without auth", async () => {
    const closed = page(true)
    await closed.dashboard.refresh()
    expect(closed.text("status")).toContain("not ready")
    expect(closed.text("status")).toContain("missing")
    expect([...new Set(closed.asked)]).toEqual(["/ready"])
    closed.dashboard.stop()

    const open = page(false)
    await open.dashboard.refresh()
    expect(open.text("status")).toContain("not ready")
    expect(open.asked).toEqual(expect.arrayContaining(["/v1/metrics?from=7d", "/v1/events"]))
    expect(open.asked.filter((path) => path.startsWith("/admin/"))).toEqual([])
    open.dashboard.stop()
  })
})
