/** What each panel of the dashboard shows, built from the gateway's answers. */
import { type BudgetList, type CostReport, describe, type Failure, type GatewayEvent, type HealthList, type MetricsSnapshot, type Ready } from "./Api.js"
import { type Cell, el, num, table } from "./Dom.js"
import * as Format from "./Format.js"

/** A call's failure, as the gateway said it. */
export const failed = (document: Document, failure: Failure): HTMLElement =>
  el(document, "p", "error", describe(failure))

/** `/ready`: a row per provider, then the records' state. */
export const readiness = (document: Document, ready: Ready): HTMLElement => {
  const rows = ready.providers.map((p): ReadonlyArray<Cell | string> => [
    p.provider,
    { value: p.ready ? "ready" : "not ready", className: p.ready ? "status-ready" : "status-not-ready" },
    p.keys !== undefined ? `${p.keys.usable} of ${p.keys.total} usable` : p.requiresKey ? (p.hasKey ? "set" : "missing") : "none needed",
    p.availableModels.join(", ") || "–",
    p.unavailableModels.map((m) => (m.reason === "" ? m.model : `${m.model} (${m.reason})`)).join(", ") || "–"
  ])
  const records = ready.records
  const recordsLine = records === undefined
    ? el(document, "p", "muted", "records: not reported")
    : el(
      document,
      "p",
      records.degraded ? "status-warn" : "muted",
      `records: ${Format.count(records.written)} written, ${Format.count(records.pending)} waiting, ${Format.count(records.dropped)} dropped` +
        (records.degraded ? " (the store is failing: costs wait in memory)" : "")
    )
  return el(document, "div", undefined, table(document, ["Provider", "Status", "Keys", "Models available", "Unavailable"], rows), recordsLine)
}

/** The totals of `/v1/metrics` in one line. */
export const totals = (document: Document, metrics: MetricsSnapshot): HTMLElement => {
  const t = metrics.totals
  return el(
    document,
    "p",
    undefined,
    `${Format.counted(t.requests, "request")}, ${Format.counted(t.errors, "error")}, ${Format.counted(t.cacheHits, "cache hit")}, ` +
      `${Format.counted(t.failovers, "failover")}, ${Format.counted(t.totalTokens, "token")}, ${Format.usd(t.costUsd)}; ` +
      `latency p50 ${Format.ms(t.latencyMs.p50)}, p95 ${Format.ms(t.latencyMs.p95)}`
  )
}

const statusCell = (status: string | undefined): Cell =>
  status === undefined ? { value: "–", className: "muted" } : { value: status, className: `status-${status}` }

/**
 * A row per model: its health (from `/admin/health`, when the key may read
 * it) beside its figures (from `/v1/metrics`).
 */
export const models = (document: Document, metrics: MetricsSnapshot | undefined, health: HealthList | undefined): HTMLElement => {
  const healthOf = new Map((health?.data ?? []).map((h) => [h.model, h]))
  const ids = [...new Set([...(metrics?.models ?? []).map((m) => m.model), ...healthOf.keys()])]
  const figuresOf = new Map((metrics?.models ?? []).map((m) => [m.model, m]))
  const rows = ids.map((id): ReadonlyArray<Cell | string> => {
    const h = healthOf.get(id)
    const m = figuresOf.get(id)
    const f = m?.metrics
    return [
      id,
      m?.provider ?? "–",
      statusCell(h === undefined ? undefined : h.blocked === true ? "blocked" : h.status),
      num(f === undefined ? "–" : Format.count(f.requests)),
      num(f === undefined ? "–" : Format.percent(f.errorRate)),
      num(Format.ms(f?.latencyMs.p50)),
      num(Format.ms(f?.latencyMs.p95)),
      num(f === undefined ? "–" : Format.count(f.failovers)),
      num(f === undefined ? "–" : Format.usd(f.costUsd)),
      h?.reason ?? ""
    ]
  })
  return table(document, ["Model", "Provider", "Health", "#Requests", "#Error rate", "#p50", "#p95", "#Failovers", "#Cost", "Last check"], rows)
}

/** `/admin/costs`: a row per group (prompt tokens then their cache reads and writes, completion tokens then their reasoning), then the total. */
export const costs = (document: Document, report: CostReport): HTMLElement => {
  const rows = report.groups.map((g): ReadonlyArray<Cell | string> => [
    g.key === "" ? "(none)" : g.key,
    num(Format.count(g.requests)),
    num(Format.count(g.cacheHits)),
    num(Format.count(g.promptTokens)),
    num(Format.count(g.cachedTokens ?? 0)),
    num(Format.count(g.cacheWriteTokens ?? 0)),
    num(Format.count(g.completionTokens)),
    num(Format.count(g.reasoningTokens ?? 0)),
    num(Format.usd(g.costUsd))
  ])
  return el(
    document,
    "div",
    undefined,
    table(document, [report.by, "#Requests", "#Cache hits", "#Prompt tokens", "#Cache reads", "#Cache writes", "#Completion tokens", "#Reasoning", "#Cost"], rows),
    el(document, "p", undefined, `Total: ${Format.usd(report.totalUsd)}`)
  )
}

const meter = (document: Document, used: number | null): Node => {
  if (used === null) return document.createTextNode("–")
  const bar = document.createElement("meter")
  bar.min = 0
  bar.max = 1
  bar.low = 0.8
  bar.high = 0.99
  bar.optimum = 0
  bar.value = Math.min(used, 1)
  return el(document, "span", undefined, bar, ` ${Format.percent(used)}`)
}

/** `/admin/budgets`: a row per budget with its use. */
export const budgets = (document: Document, list: BudgetList): HTMLElement =>
  list.data.length === 0
    ? el(document, "p", "muted", "No budget is configured (budgets in gateway.json, or a virtual key's).")
    : table(
      document,
      ["Budget", "Period", "#Spent", "#Reserved", "#Limit", "Used", "Resets (UTC)"],
      list.data.map((b) => [
        b.budget,
        b.period,
        num(Format.usd(b.spentUsd)),
        num(Format.usd(b.reservedUsd)),
        num(Format.usd(b.limitUsd)),
        { value: meter(document, b.used) },
        Format.dateTime(b.periodEnd)
      ])
    )

const shown = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value))

/** An event in one line: its time, kind, model, `from → to` (models or states) and its other fields. */
export const eventLine = (document: Document, event: GatewayEvent): HTMLElement => {
  const { _tag, at, requestId: _requestId, model, from, to, ...rest } = event
  const subject = [
    model === undefined ? undefined : shown(model),
    from === undefined && to === undefined ? undefined : `${shown(from)} → ${shown(to)}`
  ].filter((part) => part !== undefined).join(" ")
  const details = Object.entries(rest).map(([k, v]) => `${k}=${shown(v)}`).join(" ")
  return el(
    document,
    "li",
    undefined,
    `${typeof at === "number" ? Format.timeOfDay(at) : "--:--:--"} ${_tag}${subject === "" ? "" : ` ${subject}`}${details === "" ? "" : ` ${details}`}`
  )
}
