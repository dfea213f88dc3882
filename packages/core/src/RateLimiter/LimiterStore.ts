/**
 * LimiterStore: where the rate limiter's window state lives. One operation,
 * `apply`, runs one step of the algorithm (`SlidingWindow.step`) atomically on
 * one key's state; a shared store (Redis) runs the same step as a script over
 * the same plain fields so several gateway instances share one window.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer } from "effect"
import { rebucket } from "./Rebucket.js"
import * as SlidingWindow from "./SlidingWindow.js"

/** Storage of sliding-window state, one entry per limiter key. */
export class LimiterStore extends Context.Tag("@modelgate/core/LimiterStore")<
  LimiterStore,
  {
    /**
     * Run `op` at `now` on the state of `key` atomically. A missing state
     * starts empty; one built for another window length (a reload changed
     * it) is first carried over to this one (`RateLimiter/Rebucket.ts`), never
     * emptied.
     */
    readonly apply: (
      key: string,
      now: number,
      windowMs: number,
      op: SlidingWindow.Op
    ) => Effect.Effect<SlidingWindow.Outcome, StoreError>
    /** A copy of the raw state of `key` (diagnostics and tests). */
    readonly snapshot: (key: string) => Effect.Effect<SlidingWindow.WindowState | undefined, StoreError>
    /**
     * `apply`, run synchronously, for a store that holds its state in process
     * (absent for a remote store). The limiter then runs a whole reservation
     * in one synchronous step: atomic, and without an Effect step per key.
     */
    readonly applySync?: ((key: string, now: number, windowMs: number, op: SlidingWindow.Op) => SlidingWindow.Outcome) | undefined
    /**
     * Drop the states of the keys `drop` selects that hold nothing any more at
     * `now` (`SlidingWindow.idleAt`); answer when the first of the selected
     * states left will (undefined: none left). The limiter sweeps the keys of
     * models the registry removed. Absent for a store whose entries expire on
     * their own (a shared store).
     */
    readonly sweep?: ((drop: (key: string) => boolean, now: number) => number | undefined) | undefined
    /**
     * Call `f` with each state held and its key, for a store that holds them in
     * process: the limiter's sync (`RateLimiter/Sync.ts`) reads each state's own
     * counts. Absent for a remote store (already shared).
     */
    readonly forEachState?: ((f: (key: string, state: SlidingWindow.WindowState) => void) => void) | undefined
    /**
     * Set what the other instances counted in the window of `key`, their
     * provider block and this instance's share (`SlidingWindow.setShared`), making its state (empty) or
     * carrying it over to the bucket length of `windowMs` first if need be;
     * with `forEachState`.
     */
    readonly setShared?:
      | ((
        key: string,
        now: number,
        windowMs: number,
        counts: ReadonlyArray<SlidingWindow.BucketCount>,
        blockedUntil: number,
        share: SlidingWindow.ShareOf
      ) => void)
      | undefined
    /**
     * The share of the last sync, given to every window made from now on
     * (a model or key first used between two syncs is held to its share of
     * the whole limit until the next); with `forEachState`.
     */
    readonly shareNew?: ((share: SlidingWindow.ShareOf) => void) | undefined
  }
>() {}

/** What a settle or release of a key without state answers: nothing to close (its window was swept). */
const nothingOpen: SlidingWindow.Outcome = { ok: true, dimension: "requests", retryAfterMs: 0, requestsUsed: 0, tokensUsed: 0, signals: [] }

/**
 * An in-process store: a Map of states, each step applied synchronously (hence atomically). A settle
 * or release of a key without state creates none (a call that outlived its swept window).
 */
export const makeMemory = Effect.sync(() => {
  const states = new Map<string, SlidingWindow.WindowState>()
  let newShare: SlidingWindow.ShareOf | undefined
  const stateFor = (key: string, now: number, windowMs: number): SlidingWindow.WindowState => {
    let state = states.get(key)
    if (state === undefined) {
      state = SlidingWindow.empty(windowMs)
      if (newShare !== undefined && newShare.instances > 1) SlidingWindow.setShared(state, [], 0, { ...newShare, now })
      states.set(key, state)
    } else if (state.bucketMs !== SlidingWindow.bucketMsOf(windowMs)) {
      state = rebucket(state, now, windowMs)
      states.set(key, state)
    }
    return state
  }
  const applySync = (key: string, now: number, windowMs: number, op: SlidingWindow.Op): SlidingWindow.Outcome => {
    if ((op._tag === "Settle" || op._tag === "Release") && !states.has(key)) return nothingOpen
    return SlidingWindow.step(stateFor(key, now, windowMs), now, op)
  }
  const sweep = (drop: (key: string) => boolean, now: number): number | undefined => {
    let next: number | undefined
    for (const [key, state] of states) {
      if (!drop(key)) continue
      const idle = SlidingWindow.idleAt(state)
      if (idle <= now) states.delete(key)
      else if (next === undefined || idle < next) next = idle
    }
    return next
  }
  return LimiterStore.of({
    apply: (key, now, windowMs, op) => Effect.sync(() => applySync(key, now, windowMs, op)),
    applySync,
    sweep,
    shareNew: (share) => void (newShare = share),
    forEachState: (f) => states.forEach((state, key) => f(key, state)),
    setShared: (key, now, windowMs, counts, blockedUntil, share) => {
      if (counts.length > 0 || blockedUntil > 0 || states.has(key)) {
        SlidingWindow.setShared(stateFor(key, now, windowMs), counts, blockedUntil, share)
      }
    },
    snapshot: (key) =>
      Effect.sync(() => {
        const state = states.get(key)
        return state === undefined ? undefined : structuredClone(state)
      })
  })
})

/** The in-memory limiter store. */
export const layerMemory: Layer.Layer<LimiterStore> = Layer.effect(LimiterStore, makeMemory)
