/**
 * Gemini's per-day quotas (requests or tokens per day, per project and
 * model): a 429 that names one in its `QuotaFailure` still carries a
 * `RetryInfo` of seconds, but the quota only comes back when the day ends,
 * at midnight Pacific time (ai.google.dev/gemini-api/docs/rate-limits).
 */

/** One violation of a `google.rpc.QuotaFailure` detail. */
export interface QuotaViolation {
  readonly quotaId?: string | undefined
  readonly quotaMetric?: string | undefined
}

const perDay = /per[_-]?day/i

/** Whether a violation is of a per-day quota (`GenerateRequestsPerDayPerProjectPerModel-FreeTier`, `..._per_day`). */
export const isPerDay = (violation: QuotaViolation): boolean =>
  perDay.test(violation.quotaId ?? "") || perDay.test(violation.quotaMetric ?? "")

let pacific: Intl.DateTimeFormat | undefined

/**
 * Milliseconds from `nowMs` to the next midnight in America/Los_Angeles,
 * read off the wall clock there (on the two days a year the clocks move,
 * up to an hour off).
 */
export const untilPacificMidnight = (nowMs: number): number => {
  pacific ??= new Intl.DateTimeFormat("en-US", {
    timeZone: "America/Los_Angeles",
    hourCycle: "h23",
    hour: "numeric",
    minute: "numeric",
    second: "numeric"
  })
  let sinceMidnight = 0
  for (const part of pacific.formatToParts(nowMs)) {
    if (part.type === "hour") sinceMidnight += Number(part.value) * 3_600_000
    else if (part.type === "minute") sinceMidnight += Number(part.value) * 60_000
    else if (part.type === "second") sinceMidnight += Number(part.value) * 1_000
  }
  return 86_400_000 - sinceMidnight - (((nowMs % 1_000) + 1_000) % 1_000)
}
