/**
 * Prometheus text exposition (format 0.0.4) of the live counters.
 */
import { toUsd } from "@modelgate/domain/Money"
import { type Aggregate, availabilityOf, seriesKey } from "./Aggregate.js"

/** Upper bounds (seconds) of the request-duration histogram. */
export const durationBuckets: ReadonlyArray<number> = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

/** Cumulative-ready counts per duration bucket, plus `+Inf` last, and the sum in seconds. */
export interface DurationHistogram {
  readonly counts: Array<number>
  sumSeconds: number
  count: number
}

/** An empty duration histogram. */
export const emptyHistogram = (): DurationHistogram => ({ counts: durationBuckets.map(() => 0), sumSeconds: 0, count: 0 })

/** Observe one latency (ms) in a histogram (non-cumulative counts; exposition accumulates). */
export const observeDuration = (histogram: DurationHistogram, latencyMs: number): void => {
  const seconds = latencyMs / 1000
  const index = durationBuckets.findIndex((le) => seconds <= le)
  if (index >= 0) histogram.counts[index] = (histogram.counts[index] ?? 0) + 1
  histogram.sumSeconds += seconds
  histogram.count += 1
}

/** Escape a label value: backslash, double quote and line feed. */
export const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

const labels = (pairs: Record<string, string>): string => {
  const body = Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",")
  return body === "" ? "" : `{${body}}`
}

const num = (n: number): string => (Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN")

class Writer {
  readonly lines: Array<string> = []
  family(name: string, type: "counter" | "gauge" | "histogram", help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`)
  }
  sample(name: string, pairs: Record<string, string>, value: number): void {
    this.lines.push(`${name}${labels(pairs)} ${num(value)}`)
  }
}

const byLabels = (a: { model: string; provider: string }, b: { model: string; provider: string }): number =>
  a.model < b.model ? -1 : a.model > b.model ? 1 : a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0

/**
 * Render the live counters as Prometheus text: `aggregate` keyed by model and
 * provider (`Aggregate.addRecord` with `providers`: each label set its own
 * counters), `histograms` by the same keys (`seriesKey`). The availability
 * gauge of a model is rendered under the provider `servedBy` names (where it
 * is served now, `Metrics/Serving.ts`) only, when it names one: counters keep
 * the series of a provider the model left, a gauge would report it there still.
 * For the same reason a model `served` says no to (removed from the registry,
 * disabled) has no gauge at all; its counters stay.
 */
export const render = (
  aggregate: Aggregate,
  histograms: ReadonlyMap<string, DurationHistogram>,
  servedBy: (model: string) => string | undefined = () => undefined,
  served: (model: string) => boolean = () => true
): string => {
  const models = [...aggregate.values()].sort(byLabels)
  const w = new Writer()
  const id = (m: { model: string; provider: string }) => ({ model: m.model, provider: m.provider })

  w.family("modelgate_requests_total", "counter", "Provider calls and cache hits, by outcome.")
  for (const m of models) {
    if (m.requests === 0) continue
    w.sample("modelgate_requests_total", { ...id(m), outcome: "success" }, m.successes)
    w.sample("modelgate_requests_total", { ...id(m), outcome: "error" }, m.requests - m.successes)
  }
  w.family("modelgate_errors_total", "counter", "Failed provider calls, by error class.")
  for (const m of models) {
    for (const [cls, n] of Object.entries(m.errorsByClass).sort(([a], [b]) => (a < b ? -1 : 1))) {
      w.sample("modelgate_errors_total", { ...id(m), class: cls }, n)
    }
  }
  w.family("modelgate_answered_total", "counter", "Answered requests (each has a cost record).")
  for (const m of models) if (m.answered > 0) w.sample("modelgate_answered_total", id(m), m.answered)
  w.family("modelgate_cache_hits_total", "counter", "Requests answered from the response cache.")
  for (const m of models) if (m.answered > 0) w.sample("modelgate_cache_hits_total", id(m), m.cacheHits)
  w.family("modelgate_cost_usd_total", "counter", "Money spent, in USD.")
  for (const m of models) if (m.answered > 0) w.sample("modelgate_cost_usd_total", id(m), toUsd(m.costPicoUsd))
  w.family("modelgate_tokens_total", "counter", "Tokens billed, by kind (cached: prompt-cache reads, cache_write: writes, both a subset of prompt; reasoning a subset of completion).")
  for (const m of models) {
    if (m.answered === 0) continue
    w.sample("modelgate_tokens_total", { ...id(m), kind: "prompt" }, m.promptTokens)
    w.sample("modelgate_tokens_total", { ...id(m), kind: "completion" }, m.completionTokens)
    w.sample("modelgate_tokens_total", { ...id(m), kind: "cached" }, m.cachedTokens)
    w.sample("modelgate_tokens_total", { ...id(m), kind: "cache_write" }, m.cacheWriteTokens)
    w.sample("modelgate_tokens_total", { ...id(m), kind: "reasoning" }, m.reasoningTokens)
  }
  w.family("modelgate_request_duration_seconds", "histogram", "Latency of provider calls and cache hits.")
  for (const m of models) {
    const h = histograms.get(seriesKey(m.model, m.provider))
    if (h === undefined || h.count === 0) continue
    let cumulative = 0
    durationBuckets.forEach((le, i) => {
      cumulative += h.counts[i] ?? 0
      w.sample("modelgate_request_duration_seconds_bucket", { ...id(m), le: num(le) }, cumulative)
    })
    w.sample("modelgate_request_duration_seconds_bucket", { ...id(m), le: "+Inf" }, h.count)
    w.sample("modelgate_request_duration_seconds_sum", id(m), h.sumSeconds)
    w.sample("modelgate_request_duration_seconds_count", id(m), h.count)
  }
  w.family("modelgate_failovers_total", "counter", "Requests that moved away from this model.")
  for (const m of models) if (m.failovers > 0) w.sample("modelgate_failovers_total", id(m), m.failovers)
  w.family("modelgate_model_availability", "gauge", "Share of successful health probes (without probes: of successful calls, failures not the model's fault left out), 0..1.")
  for (const m of models) {
    if (!served(m.model)) continue
    const current = servedBy(m.model)
    if (current !== undefined && current !== m.provider) continue
    const availability = availabilityOf(m)
    if (availability !== undefined) w.sample("modelgate_model_availability", id(m), availability)
  }
  return w.lines.join("\n") + "\n"
}
