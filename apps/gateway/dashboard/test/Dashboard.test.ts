/**
 * The dashboard in a DOM (jsdom) against a real gateway over the testkit
 * fakes: what it shows without a key, with the master key and with a team's
 * virtual key, its costs and range controls, live events, its labels, and
 * that text from requests never becomes markup.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { JSDOM } from "jsdom"
import { bearer, call, chat, master, serveOverFakes, sha256 } from "../../test/support/VkStack.js"
import { type Dashboard, type KeyStore, start } from "../src/Dashboard.js"

/** A tab's `sessionStorage`, in memory. */
const memoryStorage = (): KeyStore & { readonly items: Map<string, string> } => {
  const items = new Map<string, string>()
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key)
  }
}

/** The dashboard on a new page for the gateway at `url`; stopped with the scope. */
const open = (url: string, storage = memoryStorage(), fetch: typeof globalThis.fetch = globalThis.fetch) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const { window } = new JSDOM(`<main id="dashboard"></main>`, { url: `${url}/dashboard` })
      const document = window.document
      const dashboard: Dashboard = start({
        document,
        root: document.getElementById("dashboard")!,
        base: url,
        fetch,
        storage,
        timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (handle) => clearTimeout(handle) },
        refreshMs: 0
      })
      const text = (id: string) => document.getElementById(id)?.textContent ?? ""
      return { window, document, dashboard, storage, text }
    }),
    ({ dashboard, window }) => Effect.sync(() => {
      dashboard.stop()
      window.close()
    })
  )

/** Poll (real time: the page waits on the network) until `check` holds; fail with `what` after 5 s. */
const eventually = (what: string, check: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 250; i++) {
      if (check()) return
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`not seen within 5 s: ${what}`)
  })

const rowsOf = (document: Document, id: string) =>
  [...document.querySelectorAll(`#${id} tbody tr`)].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent))

const budgets = { global: { daily: 50 } }

describe("the dashboard", () => {
  it.scopedLive("without a key reads only what needs none (the providers) and asks for a key; with one it reads the rest", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      const asked: Array<string> = []
      const recording: typeof globalThis.fetch = (input, init) => {
        asked.push(String(input).slice(url.length))
        return globalThis.fetch(input, init)
      }
      const { dashboard, document, text } = yield* open(url, memoryStorage(), recording)
      yield* Effect.promise(() => dashboard.refresh())
      // The providers of the registry's models (the fakes' two).
      expect(rowsOf(document, "status").map((row) => row.slice(0, 2))).toEqual([["anthropic", "ready"], ["openai", "ready"]])
      // Nothing the gateway would refuse (each refusal is a line in the browser's console).
      expect([...new Set(asked)]).toEqual(["/ready"])
      for (const id of ["costs", "budgets"]) expect(text(id)).toBe("no key: enter the master key to see this")
      expect(text("models")).toBe("no key: enter a gateway key to see the traffic")
      expect(text("events-state")).toBe("no key: enter a gateway key to follow the events")
      expect(text("key-state")).toContain("no key")
      yield* Effect.promise(() => dashboard.useKey(master))
      expect(asked).toEqual(expect.arrayContaining(["/v1/metrics?from=7d", "/admin/health", "/admin/budgets", "/v1/events"]))
      expect(text("budgets")).not.toContain("no key")
    }))

  it.scopedLive("on a gateway without auth, without a key reads the traffic and follows the events, and never asks the admin API", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({}, undefined, {})
      expect((yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini") })).status).toBe(200)
      const asked: Array<string> = []
      const recording: typeof globalThis.fetch = (input, init) => {
        asked.push(String(input).slice(url.length))
        return globalThis.fetch(input, init)
      }
      const { dashboard, text } = yield* open(url, memoryStorage(), recording)
      // Records are written every 20 ms: refresh until the request is.
      yield* eventually("the one request in the totals", () => {
        void dashboard.refresh()
        return text("totals").startsWith("1 request,")
      })
      yield* eventually("the event stream open", () => text("events-state") === "live")
      expect(asked.filter((path) => path.startsWith("/admin/"))).toEqual([])
      expect(text("costs")).toBe("the admin API is off: the gateway runs without MODELGATE_MASTER_KEY")
    }))

  it.scopedLive("with the master key shows each model's traffic, the costs, the budgets and live events", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({ budgets })
      for (const model of ["gpt-4o-mini", "gpt-4o-mini", "claude-haiku"]) {
        expect((yield* call(url, "/v1/chat/completions", { body: chat(model), headers: bearer(master) })).status).toBe(200)
      }
      const { dashboard, document, storage, text } = yield* open(url)
      yield* Effect.promise(() => dashboard.useKey(master))
      // Records are written every 20 ms: refresh until all three are.
      yield* eventually("three requests in the models table", () => {
        void dashboard.refresh()
        return rowsOf(document, "models").reduce((n, row) => n + Number(row[3] ?? 0), 0) === 3
      })
      const models = new Map(rowsOf(document, "models").map((row) => [row[0], row]))
      expect(models.get("gpt-4o-mini")?.slice(1, 4)).toEqual(["openai", "available", "2"])
      expect(models.get("claude-haiku")?.slice(1, 4)).toEqual(["anthropic", "available", "1"])
      // Costs: the groups and the total the API reports.
      const report = (yield* call(url, "/admin/costs?by=model&from=7d", { headers: bearer(master) })).json
      expect(rowsOf(document, "costs").map((row) => [row[0], row[1]])).toEqual(report.groups.map((g: { key: string; requests: number }) => [g.key, String(g.requests)]))
      expect(text("costs")).toContain(`Total: $${report.totalUsd.toFixed(6)}`)
      // The budget, with what was spent of it.
      const [budget] = rowsOf(document, "budgets")
      expect(budget?.slice(0, 2)).toEqual(["global", "daily"])
      expect(budget?.[4]).toBe("$50.00")
      // The key is kept for the tab, and the page reloaded in that tab uses it.
      expect([...storage.items.values()]).toEqual([master])
      const reloaded = yield* open(url, storage)
      yield* Effect.promise(() => reloaded.dashboard.refresh())
      expect(rowsOf(reloaded.document, "budgets")).toEqual(rowsOf(document, "budgets"))
      // Live: a new request's selection shows up without a refresh.
      yield* eventually("the event stream open", () => text("events-state") === "live")
      expect((yield* call(url, "/v1/chat/completions", { body: chat("claude-haiku", "once more"), headers: bearer(master) })).status).toBe(200)
      yield* eventually("a ModelSelected event for claude-haiku", () => text("events").includes("ModelSelected claude-haiku"))
      // Forgetting the key takes away what it showed, the events too.
      ;(document.getElementById("forget") as HTMLButtonElement).click()
      expect(document.querySelectorAll("#events li")).toHaveLength(0)
    }))

  it.scopedLive("groups the costs as the user picks, and shows an agent type from a request as text, never as markup", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      const agent = `<img src=x onerror="document.title='owned'">`
      const headers = { ...bearer(master), "x-modelgate-agent-type": agent }
      expect((yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers })).status).toBe(200)
      const { dashboard, document, window } = yield* open(url)
      yield* Effect.promise(() => dashboard.useKey(master))
      const by = document.getElementById("costs-by") as HTMLSelectElement
      by.value = "agent"
      by.dispatchEvent(new window.Event("change"))
      yield* eventually("the costs grouped by agent type", () => {
        void dashboard.refresh()
        return rowsOf(document, "costs").some((row) => row[0] === agent)
      })
      expect(document.querySelector("#costs th")?.textContent).toBe("agent")
      expect(document.querySelectorAll("img")).toHaveLength(0)
      expect(document.title).not.toBe("owned")
    }))

  it.scopedLive("takes a key from its form without leaving it in the page, says when the gateway refuses it, and forgets it", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      const { dashboard, document, storage, text, window } = yield* open(url)
      const input = document.getElementById("key") as HTMLInputElement
      input.value = "not-the-key"
      input.form!.dispatchEvent(new window.Event("submit", { cancelable: true }))
      expect(input.value).toBe("")
      yield* eventually("the refusal of the wrong key", () => text("costs").includes("401: invalid API key"))
      // The key line says so too, not "in use".
      expect(text("key-state")).toBe("the gateway refused this key (401): use another")
      // The event stream says the key was refused and stops asking.
      yield* eventually("the event stream refused", () => text("events-state") === "not following: 401: invalid API key (use another key)")
      ;(document.getElementById("forget") as HTMLButtonElement).click()
      expect(storage.items.size).toBe(0)
      yield* Effect.promise(() => dashboard.refresh())
      expect(text("costs")).toBe("no key: enter the master key to see this")
    }))

  it.scopedLive("reads the traffic, the models and the costs over the one range the user picks", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      const asked: Array<string> = []
      const recording: typeof globalThis.fetch = (input, init) => {
        asked.push(String(input).slice(url.length))
        return globalThis.fetch(input, init)
      }
      const { dashboard, document, window } = yield* open(url, memoryStorage(), recording)
      yield* Effect.promise(() => dashboard.useKey(master))
      const range = document.getElementById("range") as HTMLSelectElement
      // One control for the page, in its header, not the costs panel's alone.
      expect(range.closest("header")).not.toBeNull()
      expect(document.querySelectorAll("select[id*=range]")).toHaveLength(1)
      range.value = "24h"
      range.dispatchEvent(new window.Event("change"))
      asked.length = 0
      yield* Effect.promise(() => dashboard.refresh())
      expect(asked).toEqual(expect.arrayContaining(["/v1/metrics?from=24h", "/admin/costs?by=model&from=24h"]))
      range.value = "all"
      range.dispatchEvent(new window.Event("change"))
      asked.length = 0
      yield* Effect.promise(() => dashboard.refresh())
      expect(asked).toEqual(expect.arrayContaining(["/v1/metrics", "/admin/costs?by=model"]))
      expect(document.getElementById("traffic")?.textContent).toContain("all time")
    }))

  it.scopedLive("labels every control and marks every table's header cells as column headers", () =>
    Effect.gen(function* () {
      const { url } = yield* serveOverFakes({})
      const { dashboard, document } = yield* open(url)
      yield* Effect.promise(() => dashboard.useKey(master))
      const controls = [...document.querySelectorAll("input, select")] as Array<HTMLInputElement | HTMLSelectElement>
      expect(controls.length).toBeGreaterThan(0)
      for (const control of controls) expect(control.labels?.length ?? 0, control.id).toBeGreaterThan(0)
      const headers = [...document.querySelectorAll("th")]
      expect(headers.length).toBeGreaterThan(0)
      for (const th of headers) expect(th.getAttribute("scope"), th.textContent ?? "").toBe("col")
    }))

  it.scopedLive("with a team's virtual key shows the team's own traffic, says the admin panels need the master key, and follows the team's events", () =>
    Effect.gen(function* () {
      const teamKey = "vk-team-secret"
      const { url } = yield* serveOverFakes({ auth: { virtualKeys: [{ name: "team", sha256: sha256(teamKey), agentType: "team" }] } })
      expect((yield* call(url, "/v1/chat/completions", { body: chat("gpt-4o-mini"), headers: bearer(teamKey) })).status).toBe(200)
      expect((yield* call(url, "/v1/chat/completions", { body: chat("claude-haiku"), headers: bearer(master) })).status).toBe(200)
      const { dashboard, document, text } = yield* open(url)
      yield* Effect.promise(() => dashboard.useKey(teamKey))
      yield* eventually("the team's one request", () => {
        void dashboard.refresh()
        return text("totals").startsWith("1 request,")
      })
      expect(rowsOf(document, "models").filter((row) => row[3] !== "0" && row[3] !== "–").map((row) => row[0])).toEqual(["gpt-4o-mini"])
      for (const id of ["costs", "budgets"]) expect(text(id)).toMatch(/^403: /)
      yield* eventually("the event stream open", () => text("events-state") === "live")
    }))
})
