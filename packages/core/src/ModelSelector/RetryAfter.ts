/**
 * A ranking's retry hint: when, at the earliest, an excluded model may serve
 * again. Exclusions with a known end (a rate limit with room again, an
 * unavailable model's next probe, a recovering model's trial retry) give it; those without one (unhealthy with
 * no probe due, disabled, ruled out by the request) neither give nor withhold
 * it: at that time at least one candidate may serve, whatever the others do.
 */

/** The earliest `retryAfterMs` among `excluded` (ms from now), or undefined when none has one. */
export const earliestKnownEnd = (excluded: ReadonlyArray<{ readonly retryAfterMs?: number | undefined }>): number | undefined => {
  let earliest: number | undefined
  for (const e of excluded) {
    if (e.retryAfterMs !== undefined && (earliest === undefined || e.retryAfterMs < earliest)) earliest = e.retryAfterMs
  }
  return earliest
}
