/**
 * The health of one model as pure transitions: a check (probe or real traffic)
 * in, the new health, whether its status changed, and the record to keep.
 */
import type { HealthStatus } from "@modelgate/domain/Events"
import type { EndpointEvidence } from "@modelgate/domain/ProviderError"
import { HealthCheckRecord } from "@modelgate/domain/Records"
import type { HealthCheckConfig } from "../GatewayConfigSchema.js"
import type { ModelHealth } from "../HealthChecker.js"
import { continuesRun } from "./Run.js"

/** Checks kept per model in memory. */
export const historySize = 50

/** What the checker holds per model. */
export interface Entry {
  readonly health: ModelHealth
  readonly history: ReadonlyArray<HealthCheckRecord>
  /** When the probe fiber probes this model next (epoch ms); undefined while no probe is scheduled. */
  readonly nextProbeAt: number | undefined
  /** When the last counted failure was (epoch ms): a run of them goes on only within a window (`Run.ts`). */
  readonly lastFailureAt: number | undefined
}

/** One observation of a model. `counts: false` records it without moving the failure counter. */
export interface Check {
  readonly at: number
  readonly ok: boolean
  readonly latencyMs: number
  readonly errorClass: string | undefined
  readonly source: "probe" | "traffic"
  readonly counts: boolean
  /** A failed probe whose connection was refused: its detail. Such a probe makes a model not checked yet unavailable at once. */
  readonly unreachable?: string | undefined
  /** A failed check that says something of the model's whole endpoint (`HealthChecker/Endpoints.ts`). */
  readonly endpoint?: EndpointEvidence | undefined
}

/** The result of applying a check. */
export interface Transition {
  readonly entry: Entry
  readonly from: HealthStatus
  readonly to: HealthStatus
  /** The record to offer to the sink, if the check is worth keeping. */
  readonly record: HealthCheckRecord | undefined
}

/** A model never checked: `unknown`, which counts as available. */
export const initial = (model: string): Entry => ({
  health: { model, status: "unknown", consecutiveFailures: 0, lastCheckedAt: undefined, lastLatencyMs: undefined, reason: "not checked yet" },
  history: [],
  nextProbeAt: undefined,
  lastFailureAt: undefined
})

const withRecord = (entry: Entry, health: ModelHealth, record: HealthCheckRecord, lastFailureAt = entry.lastFailureAt): Transition => ({
  entry: { health, history: [...entry.history, record].slice(-historySize), nextProbeAt: entry.nextProbeAt, lastFailureAt },
  from: entry.health.status,
  to: health.status,
  record
})

/**
 * Apply a check; `threshold` consecutive counted failures make the model
 * unavailable (one probe whose connection was refused, for a model not checked
 * yet), one success available. A failure more than `windowMs` (`runWindowMs`)
 * after the last of the run starts a new run, unless the model is out already
 * (its count then sets its backoff). The record names `provider`, the model's.
 */
export const applyCheck = (entry: Entry, check: Check, threshold: number, windowMs: number, provider?: string): Transition => {
  const before = entry.health
  if (check.ok && check.source === "traffic" && before.status === "available" && before.consecutiveFailures === 0) {
    // Every successful request comes here: the new health written out field by field (the same keys in
    // the same order as `{ ...before, lastLatencyMs }`), a spread of it cost ~1 us per request.
    const health: ModelHealth = "blocked" in before
      ? {
        model: before.model,
        status: before.status,
        consecutiveFailures: before.consecutiveFailures,
        lastCheckedAt: before.lastCheckedAt,
        lastLatencyMs: check.latencyMs,
        reason: before.reason,
        blocked: before.blocked
      }
      : {
        model: before.model,
        status: before.status,
        consecutiveFailures: before.consecutiveFailures,
        lastCheckedAt: before.lastCheckedAt,
        lastLatencyMs: check.latencyMs,
        reason: before.reason
      }
    return {
      entry: { health, history: entry.history, nextProbeAt: entry.nextProbeAt, lastFailureAt: entry.lastFailureAt },
      from: before.status,
      to: before.status,
      record: undefined
    }
  }
  // Validation off (`, true`): a typed check of our own (one per failed request on traffic), latency clamped.
  const record = new HealthCheckRecord({
    at: check.at,
    model: before.model,
    ...(provider === undefined ? {} : { provider }),
    ok: check.ok,
    latencyMs: Math.max(0, check.latencyMs),
    source: check.source,
    ...(check.errorClass === undefined ? {} : { errorClass: check.errorClass })
  }, true)
  const seen = {
    blocked: false,
    lastCheckedAt: check.at,
    lastLatencyMs: check.ok || check.source === "probe" ? check.latencyMs : before.lastLatencyMs
  }
  if (check.ok) {
    const reason = before.status === "unavailable" ? `recovered: ${check.source} succeeded` : `${check.source} succeeded`
    return withRecord(entry, { ...before, ...seen, status: "available", consecutiveFailures: 0, reason }, record)
  }
  if (!check.counts) {
    return withRecord(entry, { ...before, ...seen }, record)
  }
  // Failures far apart are not in a row (the model may well have served in between, with no call to tell);
  // a model out keeps its count: its retries come further apart as they back off.
  const inRun = before.status === "unavailable" || continuesRun(entry.lastFailureAt, check.at, windowMs)
  const failures = (inRun ? before.consecutiveFailures : 0) + 1
  const what = `${check.errorClass ?? "failure"} (${check.source})`
  // Nothing listens at the address of a model not seen working (Ollama not started): no threshold to
  // wait for, and its reason keeps naming the address. A model that answered before keeps the threshold:
  // a refusal may be a restart.
  const unreachable = check.source === "probe" && before.status !== "available" ? check.unreachable : undefined
  const health: ModelHealth = unreachable !== undefined
    ? { ...before, ...seen, consecutiveFailures: failures, status: "unavailable", reason: `unreachable: ${unreachable}` }
    : failures >= threshold || before.status === "unavailable"
    ? { ...before, ...seen, consecutiveFailures: failures, status: "unavailable", reason: `${failures} consecutive failures, last: ${what}` }
    : { ...before, ...seen, consecutiveFailures: failures, reason: `${failures} of ${threshold} failures before unavailable, last: ${what}` }
  return withRecord(entry, health, record, check.at)
}

/**
 * A model moved to another endpoint (`internal/EndpointMoves.ts`): its health
 * starts over as `unknown` (its failure count and any `unavailable` were the
 * old endpoint's); its history stays, nothing is recorded.
 */
export const moved = (entry: Entry): Transition => {
  const fresh = initial(entry.health.model)
  const health: ModelHealth = { ...fresh.health, reason: "moved to another endpoint, not checked there yet" }
  return {
    entry: { health, history: entry.history, nextProbeAt: undefined, lastFailureAt: undefined },
    from: entry.health.status,
    to: "unknown",
    record: undefined
  }
}

/** Mark a model unavailable for a reason that no probe can fix (no key, no adapter); the counter is untouched. */
export const markUnavailable = (entry: Entry, reason: string): Transition => {
  const health: ModelHealth = { ...entry.health, status: "unavailable", reason, blocked: true }
  return { entry: { ...entry, health }, from: entry.health.status, to: "unavailable", record: undefined }
}

/**
 * Take out a model because its endpoint is down (`HealthChecker/Endpoints.ts`):
 * its own counter is untouched; nothing to record (the checks were other models').
 */
export const markEndpointDown = (entry: Entry, reason: string): Transition => {
  const health: ModelHealth = { ...entry.health, status: "unavailable", reason }
  return { entry: { ...entry, health }, from: entry.health.status, to: "unavailable", record: undefined }
}

/** Bring back a model that was out because its endpoint was, now that a check of another model there succeeded. */
export const markEndpointBack = (entry: Entry, reason: string): Transition => {
  if (entry.health.status !== "unavailable") return { entry, from: entry.health.status, to: entry.health.status, record: undefined }
  const health: ModelHealth = { ...entry.health, status: "available", consecutiveFailures: 0, reason }
  return { entry: { ...entry, health }, from: "unavailable", to: "available", record: undefined }
}

/** The time of the next probe, set by the probe fiber before it waits (no status change, nothing to record). */
export const scheduleProbe = (entry: Entry, at: number): Transition => ({
  entry: { health: entry.health, history: entry.history, nextProbeAt: at, lastFailureAt: entry.lastFailureAt },
  from: entry.health.status,
  to: entry.health.status,
  record: undefined
})

/**
 * With health checks off (no probe fiber), a model that real calls took out
 * is let through to a real call again, which then stands for the probe:
 * `intervalMs` after the failure that took it out, twice as long after each
 * failed try, at most `backoffCapMs` (never under `intervalMs`), as probes
 * back off (`probeBackoff`). The transition with that time as the entry's
 * `nextProbeAt` (none while the model is not out, or no call can fix it).
 */
export const withPassiveRetry = (
  t: Transition,
  at: number,
  settings: Pick<HealthCheckConfig, "intervalMs" | "backoffCapMs" | "failureThreshold">
): Transition => {
  const health = t.entry.health
  const out = health.status === "unavailable" && health.blocked !== true
  const beyond = Math.max(0, health.consecutiveFailures - Math.max(1, settings.failureThreshold))
  const delay = Math.min(settings.intervalMs * 2 ** Math.min(beyond, 30), Math.max(settings.backoffCapMs, settings.intervalMs))
  const nextProbeAt = out ? at + delay : undefined
  return nextProbeAt === t.entry.nextProbeAt ? t : { ...t, entry: { ...t.entry, nextProbeAt } }
}
