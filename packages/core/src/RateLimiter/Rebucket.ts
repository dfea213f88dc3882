/**
 * A window state carried over to another window length (a reload changed
 * `rateLimits.windowMs`), instead of starting empty: an empty window would
 * admit a whole limit again at once, on top of what the provider has just
 * seen, and forget the provider's own block.
 *
 * Each bucket the old state still holds moves, with its requests, tokens and
 * open reservations, to the new bucket that holds the old bucket's last
 * instant (or `now`, when that instant is still to come): a request is never
 * counted as made earlier than it was, so it never leaves the new window
 * early, and the limiter's error stays one-sided (refusals at most one old
 * bucket early; never an over-admission). Buckets that lie wholly before the
 * new window are dropped; the provider's block and counts of what is left (its output limit's too),
 * the warning times and the limited flag are kept. `Settle` and `Release` find a moved reservation by
 * its id (`SlidingWindow.step`).
 */
import { BUCKETS, empty, type WindowState } from "./SlidingWindow.js"

/** `state` (not changed) carried over at `now` to the bucket length of `windowMs`. */
export const rebucket = (state: WindowState, now: number, windowMs: number): WindowState => {
  const next = empty(windowMs)
  const slots = next.epochs.length
  const current = Math.floor(now / next.bucketMs)
  state.epochs.forEach((epoch, s) => {
    if (epoch === -1) return
    const target = Math.floor(Math.min((epoch + 1) * state.bucketMs - 1, now) / next.bucketMs)
    if (target < current - BUCKETS) return
    const t = target % slots
    next.epochs[t] = target
    next.requests[t] = next.requests[t]! + state.requests[s]!
    next.tokens[t] = next.tokens[t]! + state.tokens[s]!
    for (const [id, tokens] of state.open[s]!) next.open[t]!.set(id, tokens)
  })
  next.blockedUntil = state.blockedUntil
  next.providerLeft = state.providerLeft === undefined ? undefined : { ...state.providerLeft }
  if (state.output !== undefined) next.output = { ...state.output }
  if (state.openOutput !== undefined) next.openOutput = new Map(state.openOutput)
  next.warnedUntil = [state.warnedUntil[0], state.warnedUntil[1]]
  next.limited = state.limited
  next.limitedUntil = state.limitedUntil
  return next
}
