/**
 * The dashboard when the gateway cannot be reached or does not answer: it
 * says so instead of claiming an update, and a call that hangs ends after a
 * while rather than holding every later refresh back.
 */
import { describe, expect, it } from "@effect/vitest"
import { JSDOM } from "jsdom"
import { start } from "../src/Dashboard.js"

/** Timers run by hand: each pending callback with its delay. */
const manualTimers = () => {
  const pending = new Set<{ readonly f: () => void; readonly ms: number }>()
  return {
    pending,
    timers: {
      setTimeout: (f: () => void, ms: number) => {
        const timer = { f, ms }
        pending.add(timer)
        return timer
      },
      clearTimeout: (handle: never) => void pending.delete(handle)
    }
  }
}

const page = (fetch: typeof globalThis.fetch, timers: ReturnType<typeof manualTimers>["timers"], key: string | null = "a-key") => {
  const { window } = new JSDOM(`<main id="dashboard"></main>`, { url: "http://gateway/dashboard" })
  const document = window.document
  const storage = { getItem: (name: string) => (name === "modelgate.dashboard.key" ? key : null), setItem: () => undefined, removeItem: () => undefined }
  const dashboard = start({ document, root: document.getElementById("dashboard")!, base: "http://gateway", fetch, storage, timers, refreshMs: 0 })
  const text = (id: string) => document.getElementById(id)?.textContent ?? ""
  return { dashboard, text }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10))

describe("the dashboard without a gateway", () => {
  it("says the gateway is not answering rather than that it was updated", async () => {
    const { timers } = manualTimers()
    const { dashboard, text } = page((async () => {
      throw new TypeError("Failed to fetch")
    }) as typeof globalThis.fetch, timers)
    await dashboard.refresh()
    expect(text("updated")).toMatch(/^the gateway is not answering \(tried \d\d:\d\d:\d\d UTC\)$/)
    expect(text("costs")).toBe("the gateway did not answer: Failed to fetch")
    dashboard.stop()
  })

  it("says so without a key too, though it then asks /ready alone", async () => {
    const { timers } = manualTimers()
    const { dashboard, text } = page((async () => {
      throw new TypeError("Failed to fetch")
    }) as typeof globalThis.fetch, timers, null)
    await dashboard.refresh()
    expect(text("updated")).toMatch(/^the gateway is not answering/)
    dashboard.stop()
  })

  it("ends a call the gateway does not answer after 10 s, and stop ends the calls in flight and every timer", async () => {
    const { pending, timers } = manualTimers()
    const aborted: Array<string> = []
    // A gateway that takes the connection and never answers.
    const hanging = ((input: string, init?: RequestInit) =>
      new Promise((_, reject) => {
        init?.signal?.addEventListener("abort", () => {
          aborted.push(input)
          reject(init.signal!.reason)
        })
      })) as unknown as typeof globalThis.fetch
    const { dashboard, text } = page(hanging, timers)
    await settle()
    const timeout = [...pending].find((timer) => timer.ms === 10_000)
    expect(timeout).toBeDefined()
    pending.delete(timeout!)
    timeout!.f()
    await settle()
    expect(text("costs")).toBe("the gateway did not answer: no answer within 10 s")
    // The next read hangs too: stop ends it and the event stream, and leaves no timer.
    void dashboard.refresh()
    await settle()
    dashboard.stop()
    await settle()
    expect(aborted.filter((path) => path.endsWith("/ready"))).toHaveLength(2)
    expect(aborted.filter((path) => path.endsWith("/v1/events"))).toHaveLength(1)
    expect(pending.size).toBe(0)
  })
})
