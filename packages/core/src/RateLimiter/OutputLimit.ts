/**
 * A provider's limit on output tokens on one key (Anthropic's OTPM), as its
 * rate-limit headers tell it, inside a key's `SlidingWindow` state.
 *
 * Anthropic charges each request's `max_tokens` against its output limit when
 * the request starts and settles it to the actual output when it ends, so a
 * burst of requests with a large `max_tokens` is refused (429) although little
 * is ever written. Once a key's headers named the limit and what is left
 * (`learn`), each call that names an output reservation (`take`: its
 * `max_tokens` as sent, at most the whole limit) is held against what is left
 * until the reset: one that does not fit waits until then (`waitFor`). What
 * is left is the provider's count less the reservations of the calls still
 * open (they may not have reached it yet), but the one whose answer brought
 * the count (a stream, as it opens: charged already); a settled call gives back what it
 * did not write, a released one all it held (`giveBack`). At the reset the
 * limit is whole again (Anthropic's reset is the instant its bucket is full),
 * less the calls still open, and each window length after it again
 * (`roll`): a bucket refilled at the limit per window is full again then,
 * so this never admits more than the provider's bucket holds. The
 * instance's own view, as `SlidingWindow`'s provider count.
 */
import type { WindowState } from "./SlidingWindow.js"

/** A provider's output limit on a key, what is left of it, and when it is whole again. */
export interface OutputLeft {
  limit: number
  left: number
  until: number
}

/** The output tokens held by the calls still open (but `counted`'s). */
const inFlight = (openOutput: ReadonlyMap<string, number> | undefined, counted?: string): number => {
  let sum = 0
  if (openOutput !== undefined) for (const [id, tokens] of openOutput) if (id !== counted) sum += tokens
  return sum
}

/** The output reservation of a call of `maxTokens`: a non-negative integer, at most the whole limit when it is known. */
export const held = (output: OutputLeft | undefined, maxTokens: number): number => {
  const tokens = Number.isFinite(maxTokens) ? Math.max(0, Math.ceil(maxTokens)) : 0
  return output === undefined ? tokens : Math.min(tokens, output.limit)
}

/** Milliseconds until `need` output tokens fit (0: now, or no limit known). */
export const waitFor = (output: OutputLeft | undefined, now: number, need: number): number =>
  output === undefined || need <= 0 || output.left >= need ? 0 : Math.max(1, output.until - now)

/** Past the reset: the limit whole again, less the calls still open, until one window length after the last reset passed. */
export const roll = (output: OutputLeft, now: number, windowMs: number, openOutput: ReadonlyMap<string, number> | undefined): void => {
  if (now < output.until) return
  output.until += (Math.floor((now - output.until) / windowMs) + 1) * windowMs
  output.left = Math.max(0, output.limit - inFlight(openOutput))
}

/**
 * The provider's count: `remaining` of `limit` left until `until` (one
 * window length from `now` when its reset has already come), less the
 * calls still open, but `counted`: the open call whose answer carried the
 * count (a stream, as it opens), which the provider charged already.
 */
export const learn = (
  state: WindowState,
  now: number,
  limit: number,
  remaining: number,
  until: number,
  windowMs: number,
  counted?: string
): void => {
  const left = Math.max(0, Math.min(limit, remaining) - inFlight(state.openOutput, counted))
  state.output = { limit, left, until: until > now ? until : now + windowMs }
}

/** Hold `tokens` of output for the call `id`. */
export const take = (state: WindowState, id: string, tokens: number): void => {
  ;(state.openOutput ??= new Map()).set(id, tokens)
  if (state.output !== undefined) state.output.left = Math.max(0, state.output.left - tokens)
}

/**
 * The call `id` ended: what it held less the `written` output goes back
 * (`written` undefined: nothing, the provider keeps the reservation counted).
 */
export const giveBack = (state: WindowState, id: string, written: number | undefined): void => {
  const tokens = state.openOutput?.get(id)
  if (tokens === undefined) return
  state.openOutput!.delete(id)
  const output = state.output
  if (output === undefined || written === undefined) return
  output.left = Math.min(output.limit, output.left + Math.max(0, tokens - Math.max(0, written)))
}
