/**
 * The rate limiter's algorithm: a bucketed sliding log, as pure steps over a
 * plain, serialisable state (arrays of numbers and one id `Map` per bucket), so
 * that a store can hold it anywhere: the memory store keeps it in a Map, a
 * Redis store would keep the same fields in a hash and run `step` as a Lua
 * script.
 *
 * A window of `windowMs` is cut into `BUCKETS` buckets of
 * `bucketMs = ceil(windowMs / BUCKETS)` (1 s for 60 s). The state holds
 * `BUCKETS + 1` slots in a fixed ring; slot `e % (BUCKETS + 1)` holds the
 * requests and tokens charged in absolute bucket `e = floor(t / bucketMs)`, and
 * the reservations still open in it.
 *
 * Admission at time `now` (bucket `k`) sums buckets `k - BUCKETS .. k`: every
 * bucket that overlaps `(now - windowMs, now]`, the oldest one counted whole
 * although only part of it lies inside. A request is admitted only if that sum
 * plus the request fits the limit, so no window of `windowMs` ending at any
 * instant ever holds more than the limit (no over-admission, exactly). The
 * error is one-sided and bounded by one bucket: a request may be refused, and
 * `retryAfterMs` may be later, by at most `bucketMs` (1 s of a 60 s window)
 * compared with an exact per-request log. Memory per key is
 * `3 * (BUCKETS + 1)` numbers plus the open reservations, which are dropped
 * with their bucket when it leaves the window (so at most `rpm` of them,
 * whatever the traffic).
 *
 * Tokens are charged to the bucket a reservation was made in; `Settle` moves
 * that charge to the actual count (refund or extra charge, never below zero)
 * and closes the reservation, so a second settle or release is a no-op, as is
 * settling a reservation whose bucket has already left the window.
 *
 * The provider's own count of what is left (its rate-limit headers, once low:
 * `Remaining`) is believed too: until each count's reset, no more requests
 * or tokens are admitted than it said were left, less the calls still open
 * when it was learned (they may not have reached the provider yet).
 * This is the instance's own view (not shared between instances).
 *
 * A provider's separate limit on output tokens (Anthropic's OTPM, which it
 * charges each call's `max_tokens` when the call starts and settles to the
 * actual output at its end) is followed the same way once its headers named it
 * (`Output`, `RateLimiter/OutputLimit.ts`): each reservation that names an
 * output reservation is held against what is left of it until its reset,
 * calls in flight counted, and its settle gives back what it did not write.
 *
 * A state built for another window length is carried over to the new one by
 * `RateLimiter/Rebucket.ts` (a reload changed `rateLimits.windowMs`).
 *
 * With several gateway instances on one database, `shared` holds what the
 * OTHER instances counted in each bucket (`RateLimiter/Sync.ts` replaces it at
 * each sync, `setShared`): admission counts it with the state's own, so a
 * window holds what every instance admitted, up to what the others admitted
 * since the last sync; and a provider block another instance learned holds
 * here too. While several instances run, each admits between two syncs at
 * most its share of the room left at the first (`SharedCounts.instances`).
 */

import * as OutputLimit from "./OutputLimit.js"

/** Buckets per window. */
export const BUCKETS = 60

/** The limiter state of one key (a model, or a model and API key). Plain numbers, strings and id maps only. */
export interface WindowState {
  bucketMs: number
  /** Absolute bucket held by each slot (`-1`: empty). */
  epochs: Array<number>
  requests: Array<number>
  tokens: Array<number>
  /**
   * Open reservations of each slot: id -> tokens charged. A `Map`, not an
   * object: every reservation adds and deletes a fresh id, which on an object
   * interns the string and turns it into a dictionary (~2 us per request).
   */
  open: Array<Map<string, number>>
  /** The provider said 0 remaining: nothing is admitted before this instant. */
  blockedUntil: number
  /** What the provider said is left (less the calls open then, less what was admitted since), until its resets. */
  providerLeft?: ProviderLeft | undefined
  /** The provider's output-token limit and what is left of it (`RateLimiter/OutputLimit.ts`), once its headers named it. */
  output?: OutputLimit.OutputLeft | undefined
  /** The output reservations of the open calls that named one: id -> output tokens held. */
  openOutput?: Map<string, number> | undefined
  /** No new warning for requests / tokens before these instants. */
  warnedUntil: [number, number]
  /** 1 while the key reads as rate limited (a refusal or provider block), until `limitedUntil`. */
  limited: number
  limitedUntil: number
  /**
   * The bucket the state was last pruned for (optional: a state without it is
   * pruned on every step). No step adds a bucket older than its own, so
   * pruning again for the same bucket changes nothing and is skipped.
   */
  prunedFor?: number
  /** The other instances' counts per bucket, in the same ring as the own (absent: none known). */
  shared?: SharedCounts | undefined
}

/**
 * What other instances counted, per bucket (a ring of `BUCKETS + 1` slots
 * like the state's own), their provider block, and this instance's share of
 * the room left at the last sync.
 */
export interface SharedCounts {
  readonly epochs: Array<number>
  readonly requests: Array<number>
  readonly tokens: Array<number>
  /** Another instance saw the provider say 0 remaining: nothing is admitted before this instant. */
  readonly blockedUntil: number
  /**
   * The instances running at the last sync, this one included. With more
   * than one, each admits, until the next sync, at most its share (`1 /
   * instances`) of the room the window had left at the sync, so a burst that
   * reaches every instance at once is not admitted whole by each.
   */
  readonly instances: number
  /**
   * The window's own requests and tokens at the last sync, and all
   * instances' (own + others' + what the others may have admitted since they
   * last wrote: as much as this instance did since its own last sync, each).
   */
  readonly ownRequests: number
  readonly ownTokens: number
  readonly usedRequests: number
  readonly usedTokens: number
  /**
   * When the next sync is due: a request over the share waits for it. Past
   * it (the store fails), the share stays as it was: each instance keeps to
   * its part of the limit, its own requests leaving the window giving room back.
   */
  readonly refreshAt: number
}

/** The sync's view: instances running, when it ran and when the next is due (`setShared`). */
export interface ShareOf {
  readonly instances: number
  readonly now: number
  readonly refreshAt: number
}

/** Requests and tokens the provider said are left, each until its reset (0: none known). */
export interface ProviderLeft {
  requests: number
  requestsUntil: number
  tokens: number
  tokensUntil: number
}

/** The requests and tokens counted in one bucket (absolute `epoch`). */
export interface BucketCount {
  readonly epoch: number
  readonly requests: number
  readonly tokens: number
}

/** The limits a step checks against. */
export interface Limits {
  readonly rpm: number
  readonly tpm: number
}

/** One operation on a key's state. */
export type Op =
  /** `output`: the output tokens the provider holds for the call when it starts (its `max_tokens`), where it has an output limit. */
  | {
    readonly _tag: "Reserve"
    readonly id: string
    readonly tokens: number
    readonly limits: Limits
    readonly warnAt: number | undefined
    readonly output?: number | undefined
  }
  /**
   * `retried`: more requests of the same call (the adapter's retries the provider counted), added to its bucket.
   * `output`: the output tokens the call wrote (absent: its output reservation stays held).
   */
  | {
    readonly _tag: "Settle"
    readonly id: string
    readonly at: number
    readonly tokens: number
    readonly retried?: number | undefined
    readonly output?: number | undefined
  }
  | { readonly _tag: "Release"; readonly id: string; readonly at: number }
  | { readonly _tag: "Block"; readonly until: number }
  /**
   * The provider's output-token limit, what is left of it and when it is whole again (`RateLimiter/OutputLimit.ts`);
   * `counted`: the open call whose answer told it, whose output reservation the provider's count already holds.
   */
  | { readonly _tag: "Output"; readonly limit: number; readonly remaining: number; readonly until: number; readonly counted?: string | undefined }
  /**
   * The provider's count of what is left (absent: not reported), each until
   * its reset: replaces what an earlier one said of that dimension.
   */
  | {
    readonly _tag: "Remaining"
    readonly requests: number | undefined
    readonly requestsUntil: number
    readonly tokens: number | undefined
    readonly tokensUntil: number
  }
  /**
   * Whether `tokens` fit now; reserves nothing. A peek with no room for even a
   * minimal request marks the key limited (announced once), one with room
   * again marks it reset; a `quiet` peek (a dry run's) only reads: it marks
   * and signals nothing, so what a later step announces is unchanged.
   */
  | { readonly _tag: "Peek"; readonly tokens: number; readonly limits: Limits; readonly quiet?: boolean | undefined }

/** What happened that the service turns into events and records. */
export type Signal =
  | { readonly _tag: "Warning"; readonly dimension: "requests" | "tokens"; readonly used: number; readonly limit: number }
  | { readonly _tag: "Limited"; readonly dimension: "requests" | "tokens" | "provider"; readonly retryAfterMs: number }
  | { readonly _tag: "Reset" }

/** The answer of one step. `ok` is whether a Reserve/Peek fits (always true for the other ops). */
export interface Outcome {
  readonly ok: boolean
  readonly dimension: "requests" | "tokens" | "provider"
  readonly retryAfterMs: number
  readonly requestsUsed: number
  readonly tokensUsed: number
  readonly signals: ReadonlyArray<Signal>
}

const slots = BUCKETS + 1

/** The bucket length for a window. */
export const bucketMsOf = (windowMs: number): number => Math.max(1, Math.ceil(windowMs / BUCKETS))

/** A fresh, empty state. */
export const empty = (windowMs: number): WindowState => ({
  bucketMs: bucketMsOf(windowMs),
  epochs: new Array<number>(slots).fill(-1),
  requests: new Array<number>(slots).fill(0),
  tokens: new Array<number>(slots).fill(0),
  open: Array.from({ length: slots }, () => new Map<string, number>()),
  blockedUntil: 0,
  warnedUntil: [0, 0],
  limited: 0,
  limitedUntil: 0
})

const slotOf = (epoch: number) => epoch % slots

/**
 * The instant from which `state` says nothing that a missing (empty) state
 * would not: every bucket it holds has left the window, and no provider block,
 * warning silence or limited mark runs past it. From then on the state may be
 * dropped; a limited mark then ends without a `Reset` (a window that empty has
 * room for any request, and nothing asks about a dropped key).
 */
export const idleAt = (state: WindowState): number => {
  let at = Math.max(state.blockedUntil, state.limitedUntil, state.warnedUntil[0], state.warnedUntil[1])
  if (state.providerLeft !== undefined) at = Math.max(at, state.providerLeft.requestsUntil, state.providerLeft.tokensUntil)
  if (state.output !== undefined) at = Math.max(at, state.output.until)
  for (const epoch of state.epochs) if (epoch !== -1) at = Math.max(at, (epoch + BUCKETS + 1) * state.bucketMs)
  return at
}

/** Requests and tokens per bucket `k - BUCKETS .. k`, oldest first (0 for empty or stale slots). */
const windowOf = (state: WindowState, k: number) => {
  const requests: Array<number> = []
  const tokens: Array<number> = []
  const shared = state.shared
  for (let e = k - BUCKETS; e <= k; e++) {
    const s = slotOf(Math.max(e, 0))
    const live = e >= 0 && state.epochs[s] === e
    const others = e >= 0 && shared !== undefined && shared.epochs[s] === e
    requests.push((live ? state.requests[s]! : 0) + (others ? shared.requests[s]! : 0))
    tokens.push((live ? state.tokens[s]! : 0) + (others ? shared.tokens[s]! : 0))
  }
  return { requests, tokens }
}

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

/**
 * Milliseconds from `now` until `need` more fits under `limit` with no other
 * traffic: bucket `k - BUCKETS + i` stops counting at `(k + i + 1) * bucketMs`.
 * A need above the limit never fits: the answer is then the time until the
 * window is empty.
 */
const waitFor = (perBucket: ReadonlyArray<number>, need: number, limit: number, k: number, bucketMs: number, now: number) => {
  let used = sum(perBucket)
  if (used + need <= limit) return 0
  for (let i = 0; i < perBucket.length; i++) {
    used -= perBucket[i]!
    if (used + need <= limit || i === perBucket.length - 1) return (k + i + 1) * bucketMs - now
  }
  return (k + 1) * bucketMs - now
}

/** How long until the provider's count of what is left has room for one request of `tokens` (0: now, or none known). */
const waitForProvider = (left: ProviderLeft | undefined, now: number, tokens: number): number => {
  if (left === undefined) return 0
  const requests = left.requestsUntil > now && left.requests < 1 ? left.requestsUntil - now : 0
  const forTokens = left.tokensUntil > now && left.tokens < tokens ? left.tokensUntil - now : 0
  return Math.max(requests, forTokens)
}

const check = (state: WindowState, now: number, tokens: number, limits: Limits, output = 0) => {
  const k = Math.floor(now / state.bucketMs)
  // Fast path, no allocation: sum the live buckets; when the request fits and no provider block
  // holds, every wait is 0 (as `waitFor` would say) and the window need not be built.
  let ownRequests = 0
  let ownTokens = 0
  for (let e = Math.max(k - BUCKETS, 0); e <= k; e++) {
    const s = slotOf(e)
    if (state.epochs[s] === e) {
      ownRequests += state.requests[s]!
      ownTokens += state.tokens[s]!
    }
  }
  let requestsUsed = ownRequests
  let tokensUsed = ownTokens
  const shared = state.shared
  let blockedUntil = state.blockedUntil
  // Over this instance's share of the room left at the last sync: requests, tokens (0: within it).
  let overShare: 0 | "requests" | "tokens" = 0
  if (shared !== undefined) {
    for (let e = Math.max(k - BUCKETS, 0); e <= k; e++) {
      const s = slotOf(e)
      if (shared.epochs[s] === e) {
        requestsUsed += shared.requests[s]!
        tokensUsed += shared.tokens[s]!
      }
    }
    if (shared.blockedUntil > blockedUntil) blockedUntil = shared.blockedUntil
    if (shared.instances > 1) overShare = outsideShare(shared, ownRequests, ownTokens, tokens, limits)
  }
  const waitLeft = Math.max(waitForProvider(state.providerLeft, now, tokens), OutputLimit.waitFor(state.output, now, output))
  if (requestsUsed + 1 <= limits.rpm && tokensUsed + tokens <= limits.tpm && blockedUntil <= now && waitLeft === 0 && overShare === 0) {
    return { k, ok: true, retryAfterMs: 0, dimension: "requests" as Outcome["dimension"], requestsUsed, tokensUsed }
  }
  const w = windowOf(state, k)
  const waitRequests = waitFor(w.requests, 1, limits.rpm, k, state.bucketMs, now)
  const waitTokens = waitFor(w.tokens, tokens, limits.tpm, k, state.bucketMs, now)
  const waitProvider = Math.max(0, blockedUntil - now, waitLeft)
  // Over the share: room comes at the next sync, or (a sync overdue: the store is failing) as own buckets leave the window.
  const waitShare = overShare === 0 ? 0 : shared!.refreshAt > now ? shared!.refreshAt - now : (k + 1) * state.bucketMs - now
  const retryAfterMs = Math.max(waitRequests, waitTokens, waitProvider, waitShare)
  const dimension: Outcome["dimension"] = waitProvider > 0 && waitProvider >= retryAfterMs
    ? "provider"
    : waitShare > 0 && waitShare >= retryAfterMs && overShare !== 0
    ? overShare
    : waitRequests >= waitTokens
    ? "requests"
    : "tokens"
  return { k, ok: retryAfterMs === 0, retryAfterMs, dimension, requestsUsed, tokensUsed }
}

/**
 * Whether a request of `tokens` would take this instance past its share of
 * the room the window had at the last sync (the dimension it passes), given
 * its own counts now: what it admitted since (its own counts now less those
 * at the sync, so its own buckets that left the window give room back) may
 * reach `floor(room / instances)` (never over the limit: the remainder of
 * the division waits for the next sync).
 */
const outsideShare = (
  shared: SharedCounts,
  ownRequests: number,
  ownTokens: number,
  tokens: number,
  limits: Limits
): 0 | "requests" | "tokens" => {
  const n = shared.instances
  if (ownRequests - shared.ownRequests + 1 > Math.floor((limits.rpm - shared.usedRequests) / n)) return "requests"
  if (ownTokens - shared.ownTokens + tokens > Math.floor((limits.tpm - shared.usedTokens) / n)) return "tokens"
  return 0
}

/** A limited key that has room for a minimal request again reads as reset. */
const resetIfRoom = (state: WindowState, now: number, limits: Limits, signals: Array<Signal>) => {
  if (state.limited === 0 || now < state.limitedUntil) return
  if (check(state, now, 1, limits).ok) {
    state.limited = 0
    signals.push({ _tag: "Reset" })
  }
}

const limit = (state: WindowState, now: number, dimension: Outcome["dimension"], retryAfterMs: number, signals: Array<Signal>) => {
  state.limitedUntil = Math.max(state.limitedUntil, now + retryAfterMs)
  if (state.limited === 0) {
    state.limited = 1
    signals.push({ _tag: "Limited", dimension, retryAfterMs })
  }
}

/** Drop the open reservations of slot `s` (its bucket left the window), their output reservations with them. */
const clearOpen = (state: WindowState, s: number) => {
  const open = state.open[s]!
  const openOutput = state.openOutput
  if (openOutput !== undefined && openOutput.size > 0) for (const id of open.keys()) openOutput.delete(id)
  open.clear()
}

/** The slot of bucket `k`, recycled (emptied) first if it held an older bucket. */
const claim = (state: WindowState, k: number) => {
  const s = slotOf(k)
  if (state.epochs[s] !== k) {
    state.epochs[s] = k
    state.requests[s] = 0
    state.tokens[s] = 0
    clearOpen(state, s)
  }
  return s
}

/**
 * The slot still holding the open reservation `id` made at `at`, if any: its
 * own bucket's, or (after a change of the window length moved it, see
 * `RateLimiter/Rebucket.ts`) any slot that holds it.
 */
const openSlot = (state: WindowState, id: string, at: number) => {
  const epoch = Math.floor(at / state.bucketMs)
  const s = slotOf(epoch)
  if (state.epochs[s] === epoch && state.open[s]!.has(id)) return s
  for (let t = 0; t < slots; t++) if (state.epochs[t] !== -1 && state.open[t]!.has(id)) return t
  return undefined
}

const noChange = (signals: ReadonlyArray<Signal>): Outcome => ({
  ok: true,
  dimension: "requests",
  retryAfterMs: 0,
  requestsUsed: 0,
  tokensUsed: 0,
  signals
})

/** Empty every slot whose bucket has left the window, so open reservations never outlive it. */
const prune = (state: WindowState, k: number) => {
  if (k === state.prunedFor) return
  state.prunedFor = k
  for (let s = 0; s < slots; s++) {
    const epoch = state.epochs[s]!
    if (epoch !== -1 && epoch < k - BUCKETS) {
      state.epochs[s] = -1
      state.requests[s] = 0
      state.tokens[s] = 0
      clearOpen(state, s)
    }
  }
}

/**
 * Replace what the other instances counted (`shared`) by `counts`, one per
 * bucket (buckets not named count nothing), their provider block by
 * `blockedUntil` (0: none), and, with `share` (the sync's view), this
 * instance's share of the room left now; nothing at all (no counts, no block,
 * one instance) clears it.
 */
export const setShared = (
  state: WindowState,
  counts: ReadonlyArray<BucketCount>,
  blockedUntil = 0,
  share?: ShareOf
): void => {
  const instances = share?.instances ?? 1
  if (counts.length === 0 && blockedUntil <= 0 && instances <= 1) {
    state.shared = undefined
    return
  }
  const epochs = new Array<number>(slots).fill(-1)
  const requests = new Array<number>(slots).fill(0)
  const tokens = new Array<number>(slots).fill(0)
  for (const count of counts) {
    const s = slotOf(count.epoch)
    // Of two buckets on one slot, the later (the earlier has left the window).
    if (epochs[s]! > count.epoch) continue
    epochs[s] = count.epoch
    requests[s] = count.requests
    tokens[s] = count.tokens
  }
  // The own and others' counts of the window at the sync: the room each instance shares from.
  const k = Math.floor((share?.now ?? 0) / state.bucketMs)
  let ownRequests = 0
  let ownTokens = 0
  let usedRequests = 0
  let usedTokens = 0
  for (let e = Math.max(k - BUCKETS, 0); e <= k; e++) {
    const s = slotOf(e)
    if (state.epochs[s] === e) {
      ownRequests += state.requests[s]!
      ownTokens += state.tokens[s]!
    }
    if (epochs[s] === e) {
      usedRequests += requests[s]!
      usedTokens += tokens[s]!
    }
  }
  // What the others admitted since they last wrote is not read yet: taken to be what this instance
  // admitted since its own last sync, each (so two instances bursting together do not each take the
  // room the other has just taken).
  const prev = state.shared
  if (prev !== undefined && instances > 1) {
    usedRequests += (instances - 1) * Math.max(0, ownRequests - prev.ownRequests)
    usedTokens += (instances - 1) * Math.max(0, ownTokens - prev.ownTokens)
  }
  state.shared = {
    epochs,
    requests,
    tokens,
    blockedUntil,
    instances,
    ownRequests,
    ownTokens,
    usedRequests: usedRequests + ownRequests,
    usedTokens: usedTokens + ownTokens,
    refreshAt: share?.refreshAt ?? 0
  }
}

/** The state's own counts (not the others'), bucket by bucket from `fromEpoch` on, of the buckets it holds. */
export const ownCounts = (state: WindowState, fromEpoch: number): Array<BucketCount> => {
  const counts: Array<BucketCount> = []
  for (let s = 0; s < slots; s++) {
    const epoch = state.epochs[s]!
    if (epoch !== -1 && epoch >= fromEpoch) counts.push({ epoch, requests: state.requests[s]!, tokens: state.tokens[s]! })
  }
  return counts
}

/** Apply `op` at `now` to `state` (mutated in place) and say what happened. */
export const step = (state: WindowState, now: number, op: Op): Outcome => {
  const signals: Array<Signal> = []
  prune(state, Math.floor(now / state.bucketMs))
  if (state.output !== undefined) OutputLimit.roll(state.output, now, state.bucketMs * BUCKETS, state.openOutput)
  switch (op._tag) {
    case "Peek": {
      const quiet = op.quiet === true
      if (!quiet) resetIfRoom(state, now, op.limits, signals)
      const c = check(state, now, op.tokens, op.limits)
      // A peek that finds no room even for a minimal request reads as limited (announced once),
      // so a model set aside by the selector is announced like one refused at reserve.
      if (!quiet && !c.ok && !check(state, now, 1, op.limits).ok) limit(state, now, c.dimension, c.retryAfterMs, signals)
      return { ok: c.ok, dimension: c.dimension, retryAfterMs: c.retryAfterMs, requestsUsed: c.requestsUsed, tokensUsed: c.tokensUsed, signals }
    }
    case "Reserve": {
      resetIfRoom(state, now, op.limits, signals)
      const output = op.output === undefined ? 0 : OutputLimit.held(state.output, op.output)
      const c = check(state, now, op.tokens, op.limits, output)
      if (!c.ok) {
        limit(state, now, c.dimension, c.retryAfterMs, signals)
        return { ok: false, dimension: c.dimension, retryAfterMs: c.retryAfterMs, requestsUsed: c.requestsUsed, tokensUsed: c.tokensUsed, signals }
      }
      const s = claim(state, c.k)
      state.requests[s] = state.requests[s]! + 1
      state.tokens[s] = state.tokens[s]! + op.tokens
      state.open[s]!.set(op.id, op.tokens)
      if (output > 0) OutputLimit.take(state, op.id, output)
      const left = state.providerLeft
      if (left !== undefined) {
        if (left.requestsUntil > now) left.requests -= 1
        if (left.tokensUntil > now) left.tokens = Math.max(0, left.tokens - op.tokens)
      }
      const requestsUsed = c.requestsUsed + 1
      const tokensUsed = c.tokensUsed + op.tokens
      if (op.warnAt !== undefined) {
        const windowMs = state.bucketMs * BUCKETS
        if (requestsUsed >= op.warnAt * op.limits.rpm && now >= state.warnedUntil[0]) {
          state.warnedUntil[0] = now + windowMs
          signals.push({ _tag: "Warning", dimension: "requests", used: requestsUsed, limit: op.limits.rpm })
        }
        if (tokensUsed >= op.warnAt * op.limits.tpm && now >= state.warnedUntil[1]) {
          state.warnedUntil[1] = now + windowMs
          signals.push({ _tag: "Warning", dimension: "tokens", used: tokensUsed, limit: op.limits.tpm })
        }
      }
      return { ok: true, dimension: "requests", retryAfterMs: 0, requestsUsed, tokensUsed, signals }
    }
    case "Settle": {
      const s = openSlot(state, op.id, op.at)
      if (s !== undefined) {
        const open = state.open[s]!
        const charged = open.get(op.id)!
        state.tokens[s] = Math.max(0, state.tokens[s]! + Math.max(0, op.tokens) - charged)
        if (op.retried !== undefined) state.requests[s] = state.requests[s]! + op.retried
        open.delete(op.id)
      }
      if (state.openOutput !== undefined) OutputLimit.giveBack(state, op.id, op.output)
      return noChange(signals)
    }
    case "Release": {
      const s = openSlot(state, op.id, op.at)
      if (s !== undefined) {
        const open = state.open[s]!
        state.tokens[s] = Math.max(0, state.tokens[s]! - open.get(op.id)!)
        state.requests[s] = Math.max(0, state.requests[s]! - 1)
        open.delete(op.id)
      }
      if (state.openOutput !== undefined) OutputLimit.giveBack(state, op.id, 0)
      return noChange(signals)
    }
    case "Remaining": {
      // The calls still open may not have reached the provider when it counted: what is left is theirs first.
      let openRequests = 0
      let openTokens = 0
      for (let t = 0; t < slots; t++) {
        if (state.epochs[t] === -1) continue
        openRequests += state.open[t]!.size
        for (const charged of state.open[t]!.values()) openTokens += charged
      }
      const left = state.providerLeft ?? { requests: 0, requestsUntil: 0, tokens: 0, tokensUntil: 0 }
      if (op.requests !== undefined && op.requestsUntil > now) {
        left.requests = Math.max(0, op.requests - openRequests)
        left.requestsUntil = op.requestsUntil
      }
      if (op.tokens !== undefined && op.tokensUntil > now) {
        left.tokens = Math.max(0, op.tokens - openTokens)
        left.tokensUntil = op.tokensUntil
      }
      state.providerLeft = left.requestsUntil > now || left.tokensUntil > now ? left : undefined
      return noChange(signals)
    }
    case "Output": {
      OutputLimit.learn(state, now, op.limit, op.remaining, op.until, state.bucketMs * BUCKETS, op.counted)
      return noChange(signals)
    }
    case "Block": {
      if (op.until > now) {
        state.blockedUntil = Math.max(state.blockedUntil, op.until)
        limit(state, now, "provider", state.blockedUntil - now, signals)
      }
      return noChange(signals)
    }
  }
}
