/**
 * The dashboard page: readiness, models, costs, budgets and live events of a
 * running gateway, read from its JSON API with the key its user types (kept
 * for the browser tab's session only, never written into the page). Without
 * a key it asks only what needs none: `/ready`, and `/v1/*` when `/ready`
 * says the gateway runs without auth. A key the gateway refuses (401) is not
 * asked with again until its user gives a key again.
 */
import type { Answer, Connection, Failure } from "./Api.js"
import { el, show } from "./Dom.js"
import * as Format from "./Format.js"
import * as Panels from "./Panels.js"
import { isUnasked, noKey, readAll } from "./Reads.js"
import * as Sse from "./Sse.js"

/** Where the key, the range and the costs grouping are kept between reloads of the page (a tab's `sessionStorage` in a browser). */
export type KeyStore = Pick<Storage, "getItem" | "setItem" | "removeItem">

/** Timers (the browser's own, or a test's). */
export interface Timers {
  readonly setTimeout: (f: () => void, ms: number) => unknown
  readonly clearTimeout: (handle: never) => void
}

/** What the dashboard runs on. */
export interface Options {
  readonly document: Document
  /** The element the dashboard fills. */
  readonly root: Element
  /** The gateway's origin and a `fetch`. */
  readonly base: string
  readonly fetch: typeof globalThis.fetch
  readonly storage: KeyStore
  readonly timers: Timers
  /** Refresh every this many ms (0: only when `refresh` is called). */
  readonly refreshMs: number
  /** True while the page is not seen: periodic refreshes are skipped then. */
  readonly hidden?: () => boolean
  /** The events kept on screen, newest first. */
  readonly maxEvents?: number
}

/** A running dashboard. */
export interface Dashboard {
  /** Read everything again and redraw; resolves when drawn. */
  readonly refresh: () => Promise<void>
  /** Use `key` from now on (undefined: none), as the key form does. */
  readonly useKey: (key: string | undefined) => Promise<void>
  /** Stop refreshing and following events. */
  readonly stop: () => void
}

const storedKey = "modelgate.dashboard.key"
const storedRange = "modelgate.dashboard.range"
const storedBy = "modelgate.dashboard.costsBy"

/** A read of the API the gateway has not answered within this long is given up (the next refresh asks again). */
const answerWithinMs = 10_000

/** `from` of the traffic and costs queries for each range the user can pick. */
const ranges: ReadonlyArray<readonly [label: string, from: string | undefined]> = [
  ["last 24 hours", "24h"],
  ["last 7 days", "7d"],
  ["last 30 days", "30d"],
  ["all time", undefined]
]
const groupings = ["model", "provider", "agent", "day", "key"] as const

/** The stored choice `name` when the page offers it, else `fallback`. */
const stored = (storage: KeyStore, name: string, offered: ReadonlyArray<string>, fallback: string): string => {
  const value = storage.getItem(name)
  return value !== null && offered.includes(value) ? value : fallback
}

const select = (document: Document, id: string, options: ReadonlyArray<readonly [label: string, value: string]>, chosen: string) => {
  const element = el(document, "select") as HTMLSelectElement
  element.id = id
  for (const [label, value] of options) {
    const option = el(document, "option", undefined, label) as HTMLOptionElement
    option.value = value
    option.selected = value === chosen
    element.append(option)
  }
  return element
}

/** Start the dashboard in `options.root`. */
export const start = (options: Options): Dashboard => {
  const { document, timers } = options
  const maxEvents = options.maxEvents ?? 100
  let key = options.storage.getItem(storedKey) ?? undefined
  const connection: Connection = { base: options.base, fetch: options.fetch, key: () => key }

  const section = (id: string, title: string, ...before: ReadonlyArray<Node>) => {
    const body = el(document, "div")
    body.id = id
    return { section: el(document, "section", undefined, el(document, "h2", undefined, title), ...before, body), body }
  }

  // Header: title, key form, last refresh.
  const keyInput = el(document, "input") as HTMLInputElement
  keyInput.type = "password"
  keyInput.id = "key"
  keyInput.placeholder = "gateway key"
  keyInput.autocomplete = "off"
  const useButton = el(document, "button", undefined, "Use key") as HTMLButtonElement
  useButton.type = "submit"
  const forgetButton = el(document, "button", undefined, "Forget key") as HTMLButtonElement
  forgetButton.type = "button"
  forgetButton.id = "forget"
  const keyLabel = el(document, "label", undefined, "Key") as HTMLLabelElement
  keyLabel.htmlFor = "key"
  const form = el(document, "form", undefined, keyLabel, keyInput, useButton, forgetButton) as HTMLFormElement
  const keyState = el(document, "span", "muted")
  keyState.id = "key-state"
  const updated = el(document, "p", "muted")
  updated.id = "updated"

  // The choices survive a reload of the page in the tab; a stored value the page does not offer is not used.
  const by = select(document, "costs-by", groupings.map((g) => [g, g]), stored(options.storage, storedBy, groupings, "model"))
  // One range for every figure of the page: traffic, models and costs.
  const rangeValues = ranges.map(([label, from]) => [label, from ?? "all"] as const)
  const range = select(document, "range", rangeValues, stored(options.storage, storedRange, rangeValues.map(([, value]) => value), "7d"))
  const rangeControl = el(document, "label", undefined, "Figures over ", range)
  const rangeNames = [el(document, "span"), el(document, "span"), el(document, "span")]
  const drawRange = () => {
    const label = range.selectedOptions[0]?.textContent ?? ""
    for (const name of rangeNames) name.textContent = `, ${label}`
  }

  const status = section("status", "Providers")
  const traffic = section("models", "Models")
  traffic.section.querySelector("h2")?.append(rangeNames[0]!)
  const totalsLine = el(document, "div")
  totalsLine.id = "totals"
  const trafficSection = el(document, "section", undefined, el(document, "h2", undefined, "Traffic", rangeNames[2]!), totalsLine)
  trafficSection.id = "traffic"
  const costSection = section("costs", "Costs", el(document, "div", "controls", el(document, "label", undefined, "by ", by)))
  costSection.section.querySelector("h2")?.append(rangeNames[1]!)
  const budgetSection = section("budgets", "Budgets")
  const eventState = el(document, "p", "muted", "connecting…")
  eventState.id = "events-state"
  const eventList = el(document, "ol", "events")
  eventList.id = "events"
  const eventSection = el(document, "section", undefined, el(document, "h2", undefined, "Live events"), eventState, eventList)

  show(
    options.root,
    el(document, "header", undefined, el(document, "h1", undefined, "modelgate"), rangeControl, el(document, "div", undefined, form, keyState)),
    updated,
    status.section,
    trafficSection,
    traffic.section,
    costSection.section,
    budgetSection.section,
    eventSection
  )

  /** The key line; `refused`: the gateway answered 401 to the key in use; `open`: it runs without auth. */
  const drawKeyState = (refused = false, open = false) => {
    keyState.textContent = key === undefined
      ? open ? "no key needed: the gateway runs without auth" : "no key: enter one to see more than the providers"
      : refused
      ? "the gateway refused this key (401): use another"
      : "key in use (kept for this tab only)"
    keyState.className = key !== undefined && refused ? "error" : "muted"
  }

  /** A failed call as the gateway said it; one not made, as a note. */
  const failure = (answer: Answer<unknown> & { readonly ok: false }) =>
    isUnasked(answer) ? el(document, "p", "muted", answer.failure.message) : Panels.failed(document, answer.failure)
  const render = <A>(container: Element, answer: Answer<A>, draw: (value: A) => Node) =>
    show(container, answer.ok ? draw(answer.value) : failure(answer))

  const from = () => (range.value === "all" ? undefined : `from=${encodeURIComponent(range.value)}`)
  const costsPath = () => `/admin/costs?by=${encodeURIComponent(by.value)}${from() === undefined ? "" : `&${from()}`}`
  const metricsPath = () => `/v1/metrics${from() === undefined ? "" : `?${from()}`}`

  /** The key in use that the gateway refused (401) and its refusal: not asked with again until a key is given again. */
  let refusal: { readonly key: string; readonly failure: Failure } | undefined
  let stopped = false
  let running: Promise<void> | undefined
  let queued: Promise<void> | undefined
  let reading: AbortController | undefined
  const load = async () => {
    const controller = new AbortController()
    reading = controller
    const signal = controller.signal
    const timeout = timers.setTimeout(() => controller.abort(new Error(`no answer within ${answerWithinMs / 1000} s`)), answerWithinMs)
    const keyed = key
    const refused = keyed !== undefined && refusal?.key === keyed ? refusal.failure : undefined
    const { answers, open } = await readAll(connection, keyed, { metrics: metricsPath(), costs: costsPath() }, signal, refused).finally(() =>
      timers.clearTimeout(timeout as never)
    )
    if (stopped) return
    // A 401 with a key: the gateway does not know it (a 403 is a known key without the right: not this).
    const unknown = answers.find((answer) => !answer.ok && answer.failure.status === 401)
    if (keyed !== undefined && keyed === key && unknown !== undefined && !unknown.ok) refusal = { key: keyed, failure: unknown.failure }
    // Without a key, the events are followed while the gateway runs without auth (unless a key came meanwhile).
    if (keyed === undefined && key === undefined) {
      if (open && events === undefined) follow()
      else if (!open) noEvents()
    }
    const [ready, metrics, health, costs, budgetList] = answers
    render(status.body, ready, (r) => Panels.readiness(document, r))
    render(totalsLine, metrics, (m) => Panels.totals(document, m))
    // Models show with what could be read: health needs the master key, metrics a gateway key.
    if (metrics.ok || health.ok) {
      const models = Panels.models(document, metrics.ok ? metrics.value : undefined, health.ok ? health.value : undefined)
      show(traffic.body, ...(health.ok ? [models] : [failure(health), models]))
    } else render(traffic.body, metrics, () => document.createTextNode(""))
    render(costSection.body, costs, (c) => Panels.costs(document, c))
    render(budgetSection.body, budgetList, (b) => Panels.budgets(document, b))
    drawKeyState(unknown !== undefined, open)
    // No answer at all (refused connections, timeouts): not an update. (Calls not made count as unanswered: `/ready` decides.)
    const unanswered = answers.every((answer) => !answer.ok && answer.failure.status === 0)
    const now = Format.timeOfDay(Date.now())
    updated.textContent = unanswered ? `the gateway is not answering (tried ${now} UTC)` : `updated ${now} UTC`
    updated.className = unanswered ? "error" : "muted"
  }
  const refresh = (): Promise<void> => {
    if (running === undefined) {
      running = load().finally(() => {
        running = undefined
      })
      return running
    }
    // One more after the read in flight, which may have used an older key or older choices.
    queued ??= running.then(() => {
      queued = undefined
      return refresh()
    })
    return queued
  }

  // Live events: newest first, at most `maxEvents`.
  let events: Sse.Subscription | undefined
  /** Not following: no key for the events. */
  const noEvents = () => {
    events?.stop()
    events = undefined
    eventState.textContent = noKey.events
    eventState.className = "muted"
  }
  const follow = () => {
    events?.stop()
    eventState.textContent = "connecting…"
    events = Sse.follow(connection, {
      onEvent: (event) => {
        eventList.prepend(Panels.eventLine(document, event))
        while (eventList.childElementCount > maxEvents) eventList.lastElementChild?.remove()
      },
      onState: (open, why = "the stream ended", retrying = true) => {
        eventState.textContent = open ? "live" : retrying ? `reconnecting in a few seconds: ${why}` : `not following: ${why} (use another key)`
        eventState.className = open ? "muted" : "error"
      }
    }, timers)
  }

  const useKey = (next: string | undefined) => {
    key = next === undefined || next.trim() === "" ? undefined : next.trim()
    // A key given again is asked with again (the gateway may know it now).
    refusal = undefined
    if (key === undefined) options.storage.removeItem(storedKey)
    else options.storage.setItem(storedKey, key)
    drawKeyState()
    // What the previous key saw goes with it.
    eventList.replaceChildren()
    // Without a key, the next read tells whether the events need one.
    if (key === undefined) noEvents()
    else follow()
    return refresh()
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault()
    const typed = keyInput.value
    // The key is not left in the page.
    keyInput.value = ""
    void useKey(typed)
  })
  forgetButton.addEventListener("click", () => void useKey(undefined))
  by.addEventListener("change", () => {
    options.storage.setItem(storedBy, by.value)
    void refresh()
  })
  range.addEventListener("change", () => {
    options.storage.setItem(storedRange, range.value)
    drawRange()
    void refresh()
  })

  let timer: unknown
  const tick = () => {
    const again = () => {
      if (!stopped) timer = timers.setTimeout(tick, options.refreshMs)
    }
    if (options.hidden?.() === true) again()
    else void refresh().finally(again)
  }

  drawKeyState()
  drawRange()
  if (key === undefined) noEvents()
  else follow()
  if (options.refreshMs > 0) tick()
  else void refresh()

  return {
    refresh,
    useKey,
    stop: () => {
      stopped = true
      if (timer !== undefined) timers.clearTimeout(timer as never)
      reading?.abort(new Error("the dashboard stopped"))
      events?.stop()
    }
  }
}
