/**
 * Runs of failures: which failures count as "in a row". Shared by a model's
 * own failure count (`State.applyCheck`) and an endpoint's (`Endpoints`).
 */
import type { HealthCheckConfig } from "../GatewayConfigSchema.js"

/**
 * The most time between two failures of one run: `2 × intervalMs +
 * timeoutMs`. Every probe of a failing model comes within it of the one
 * before (an interval, plus at most its timeout), so probes keep a run going;
 * with probes off (`enabled: false`) it is twice the time after which a model
 * out is tried again. Past it the model or endpoint may well have answered in
 * between (a quiet hour, a restart long over), and the next failure starts a
 * new run.
 */
export const runWindowMs = (settings: Pick<HealthCheckConfig, "intervalMs" | "timeoutMs">): number =>
  2 * settings.intervalMs + settings.timeoutMs

/** A failure at `at` continues the run whose last failure was at `last` (undefined: no run): within `windowMs` of it. */
export const continuesRun = (last: number | undefined, at: number, windowMs: number): boolean =>
  last !== undefined && at - last <= windowMs
