/**
 * The range and the costs grouping the user picked survive a reload of the
 * page in the same tab (kept in the tab's storage beside the key); a stored
 * value the page does not offer falls back to the default.
 */
import { describe, expect, it } from "@effect/vitest"
import { JSDOM } from "jsdom"
import { type KeyStore, start } from "../src/Dashboard.js"

/** A tab's storage, in memory, with a key in it (so the page reads the API). */
const tabStorage = (items: Record<string, string> = {}): KeyStore & { readonly items: Map<string, string> } => {
  const map = new Map<string, string>([["modelgate.dashboard.key", "a-key"], ...Object.entries(items)])
  return { items: map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) }
}

/** The page over a gateway that answers every call 503, recording the paths asked; timers never fire. */
const page = (storage: KeyStore) => {
  const { window } = new JSDOM(`<main id="dashboard"></main>`, { url: "http://gateway/dashboard" })
  const document = window.document
  const asked: Array<string> = []
  const fetch = (async (input: string) => {
    asked.push(input.slice("http://gateway".length))
    return new Response("{}", { status: 503 })
  }) as unknown as typeof globalThis.fetch
  const timers = { setTimeout: () => undefined, clearTimeout: () => undefined }
  const dashboard = start({ document, root: document.getElementById("dashboard")!, base: "http://gateway", fetch, storage, timers, refreshMs: 0 })
  const control = (id: string) => document.getElementById(id) as HTMLSelectElement
  const pick = (id: string, value: string) => {
    control(id).value = value
    control(id).dispatchEvent(new window.Event("change"))
  }
  return { dashboard, document, asked, control, pick, close: () => (dashboard.stop(), window.close()) }
}

describe("the dashboard's choices", () => {
  it("keeps the range and the costs grouping across a reload of the page in the tab", async () => {
    const storage = tabStorage()
    const first = page(storage)
    first.pick("range", "24h")
    first.pick("costs-by", "provider")
    await first.dashboard.refresh()
    first.close()

    const again = page(storage)
    expect(again.control("range").value).toBe("24h")
    expect(again.control("costs-by").value).toBe("provider")
    expect(again.document.getElementById("traffic")?.textContent).toContain("last 24 hours")
    again.asked.length = 0
    await again.dashboard.refresh()
    expect(again.asked).toEqual(expect.arrayContaining(["/v1/metrics?from=24h", "/admin/costs?by=provider&from=24h"]))
    again.close()
  })

  it("falls back to the defaults (7 days, by model) for stored values it does not offer", async () => {
    const storage = tabStorage({ "modelgate.dashboard.range": "forever", "modelgate.dashboard.costsBy": "color" })
    const opened = page(storage)
    expect(opened.control("range").value).toBe("7d")
    expect(opened.control("costs-by").value).toBe("model")
    await opened.dashboard.refresh()
    expect(opened.asked).toEqual(expect.arrayContaining(["/v1/metrics?from=7d", "/admin/costs?by=model&from=7d"]))
    opened.close()
  })
})
