/**
 * Health across gateway instances on one database. Every
 * `healthCheck.syncIntervalMs` each instance writes the models it finds
 * unavailable (its own checks: failures past the threshold, an unreachable
 * endpoint; not a missing key or adapter, which is its own configuration)
 * and reads the others' (`HealthMarkStore`), so a provider that fails or
 * hangs is set aside by every instance once one has seen it, instead of each
 * spending its own failed calls (and, for a provider that hangs, its users'
 * timeouts) to learn it. What the checker does with the others' marks is in
 * `HealthChecker.ts` (`sharedMarkOf`): a check of its own after a mark says
 * more than the mark.
 *
 * A sync runs at start, then one after another, an interval apart. A mark
 * not written again for `markFreshForMs` (or three intervals, if longer) is
 * stale: its instance stopped. An instance that stops deletes its marks. A
 * failed sync keeps the last marks read; a run of failures is logged once.
 */
import type { StoreError } from "@modelgate/domain/Errors"
import { Clock, Effect, Stream } from "effect"
import type { GatewayConfig } from "../GatewayConfig.js"
import type { HealthMark, HealthMarkStore, InstanceHealthMark } from "../HealthMarkStore.js"
import { everyInterval, quietly, undoAtStop } from "../internal/periodicSync.js"
import type { Entry } from "./State.js"

/** How long a mark counts after its instance last wrote it (at least three sync intervals). */
export const markFreshForMs = 10_000

/** The marks of this instance's entries: the models its own checks find unavailable. */
export const marksOf = (entries: Iterable<Entry>, now: number): Array<HealthMark> => {
  const marks: Array<HealthMark> = []
  for (const entry of entries) {
    const health = entry.health
    if (health.status !== "unavailable" || health.blocked === true) continue
    marks.push({ model: health.model, since: health.lastCheckedAt ?? now, reason: health.reason, nextProbeAt: entry.nextProbeAt })
  }
  return marks
}

/** The sync of one checker's marks with the other instances'. */
export const make = (options: {
  readonly entries: () => Iterable<Entry>
  readonly store: HealthMarkStore["Type"]
  readonly instance: string
  readonly gatewayConfig: GatewayConfig["Type"]
  /** The interval when `healthCheck.syncIntervalMs` is unset (none: no sync then). */
  readonly defaultSyncIntervalMs?: number | undefined
  /** Given the others' marks after each read, the latest per model (replacing the last). */
  readonly onMarks: (marks: ReadonlyMap<string, InstanceHealthMark>) => void
}) => {
  const { gatewayConfig, instance, store } = options
  let wrote = false

  /** Write this instance's marks, read the others'. */
  const syncOnce: Effect.Effect<void, StoreError> = Effect.gen(function* () {
    const settings = (yield* gatewayConfig.get).healthCheck
    const intervalMs = settings.syncIntervalMs ?? options.defaultSyncIntervalMs ?? 1_000
    const now = yield* Clock.currentTimeMillis
    yield* store.put(instance, marksOf(options.entries(), now), now)
    wrote = true
    const others = yield* store.others(instance, now - Math.max(3 * intervalMs, markFreshForMs))
    const latest = new Map<string, InstanceHealthMark>()
    for (const mark of others) {
      const seen = latest.get(mark.model)
      if (seen === undefined || mark.since > seen.since) latest.set(mark.model, mark)
    }
    options.onMarks(latest)
  })

  /** Sync at once and then every `healthCheck.syncIntervalMs` (else the default; never while both are unset), following reloads. */
  const run: Effect.Effect<void> = everyInterval(
    Stream.map(gatewayConfig.changes, (config) => config.healthCheck.syncIntervalMs ?? options.defaultSyncIntervalMs),
    quietly(syncOnce, {
      failed: "health sync: could not share the models found unavailable with the other instances; the last marks read stay",
      recovered: "health sync: unavailable models are shared again"
    }),
    { first: true }
  )

  /** At stop: delete this instance's marks (best effort, 2 s at most). */
  const leave = undoAtStop(() => wrote, store.leave(instance), "health sync: could not delete this instance's marks")

  return { syncOnce, run, leave }
}
