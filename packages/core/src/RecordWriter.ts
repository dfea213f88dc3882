/**
 * RecordWriter: the live `RecordSink`, a write-behind queue into `RecordStore`.
 *
 * - Nothing on the request path waits on disk: `offer` enqueues, a fiber in the
 *   layer's scope writes batches (one transaction each) `records.flushIntervalMs`
 *   after the first waiting record arrived, or as soon as `records.batchSize`
 *   records wait; it goes on while full batches wait, and leaves a smaller
 *   remainder for its own interval (so steady load makes full batches, not
 *   one small batch per write). An idle writer sets no timer.
 * - Full queue: cost records wait for room (back-pressure, never lost; logged
 *   once until a batch is written, not per record, and at most once a minute
 *   while the queue keeps filling again, counting the times); every
 *   other record has its own queue of `records.queueCapacity` that drops its
 *   oldest record (counted in `stats`, logged after the next write, at most
 *   once a minute, and at close).
 * - A failing write (or one that dies: a defect is taken as a failure) is
 *   retried with `writeRetry` (exponential, capped at 30 s, forever) while
 *   the gateway keeps serving; the first failure publishes
 *   `DegradedModeEntered` (component "records"), the next success
 *   `DegradedModeLeft`. Queued records wait meanwhile. The log says so once,
 *   then reminds at most every 5 minutes, and says when writes recover
 *   (`RecordWriter/FailureLog.ts`).
 * - Scope close drains and writes everything queued (retrying with
 *   `shutdownRetry`); when the store still fails, one error counts every
 *   record left (cost records that waited for room included). The final
 *   flush is bounded by `server.shutdownGraceMs`: a write that never returns
 *   (a hung fsync cannot be interrupted) is left running, and one error counts
 *   the records not known to be written (the batch being written, which may
 *   yet commit, and the queued ones). `unwrittenAtClose` then tells a host how
 *   many records the writer could not vouch for. A record offered after
 *   close is written directly.
 * - Every accepted record is passed to `Metrics.observe` first, so metrics see
 *   it at once; writes go through `Metrics.persist`.
 */
import { DegradedModeEntered, DegradedModeLeft } from "@modelgate/domain/Events"
import { StoreError } from "@modelgate/domain/Errors"
import type { CostRecord, GatewayRecord } from "@modelgate/domain/Records"
import { Chunk, Clock, Context, Duration, Effect, Fiber, Layer, Option, Queue, Ref, Schedule } from "effect"
import { Events } from "./Events.js"
import { GatewayConfig } from "./GatewayConfig.js"
import { Metrics } from "./Metrics.js"
import { RecordSink } from "./RecordSink.js"
import { RecordStore } from "./RecordStore.js"
import { arrayBacking } from "./RecordWriter/ArrayQueue.js"
import * as FailureLog from "./RecordWriter/FailureLog.js"

/** How the writer is doing. */
export interface RecordWriterStats {
  readonly queuedCosts: number
  readonly queuedOthers: number
  /** Records accepted and not written yet: both queues and the batch being written (or retried). */
  readonly pending: number
  readonly written: number
  readonly dropped: number
  readonly degraded: boolean
}

/** Control of the live record writer. */
export class RecordWriter extends Context.Tag("@modelgate/core/RecordWriter")<
  RecordWriter,
  {
    /** Write everything queued now (waits, retrying, while the store fails). */
    readonly flush: Effect.Effect<void>
    /** Queue sizes, written and dropped counts, degraded flag. */
    readonly stats: Effect.Effect<RecordWriterStats>
    /**
     * After the writer's scope closed: how many records its final flush could
     * not vouch for (not written while the store kept failing, or not known to
     * be written when `server.shutdownGraceMs` passed); 0 before, and after a
     * complete flush.
     */
    readonly unwrittenAtClose: Effect.Effect<number>
  }
>() {}

/** Retry of a failing batch write while running: exponential from 100 ms, capped at 30 s, jittered, forever. */
export const writeRetry = Schedule.exponential("100 millis").pipe(
  Schedule.union(Schedule.spaced("30 seconds")),
  Schedule.jittered
)

/** Retry of the final flush on shutdown: 5 more attempts from 50 ms; then what is left is logged as lost. */
export const shutdownRetry = Schedule.exponential("50 millis").pipe(Schedule.intersect(Schedule.recurs(5)))

/**
 * The least time between two warnings of a full queue (back-pressure, dropped
 * records): sustained overload fills the queues again after every batch.
 */
export const overloadLogEvery: Duration.Duration = Duration.minutes(1)

/** Build the writer; its fiber and its final flush belong to the current scope. */
export const make = Effect.gen(function* () {
  const { records: config, server } = yield* Effect.flatMap(GatewayConfig, (c) => c.get)
  const store = yield* RecordStore
  const metrics = yield* Metrics
  const events = yield* Events

  const costs = yield* Queue.make(arrayBacking<CostRecord>(config.queueCapacity), Queue.backPressureStrategy())
  const others = yield* Queue.make(arrayBacking<GatewayRecord>(config.queueCapacity), Queue.droppingStrategy())
  const wake = yield* Queue.sliding<void>(1)
  const arrived = yield* Queue.sliding<void>(1)
  const inflight = yield* Ref.make<ReadonlyArray<GatewayRecord>>([])
  /** Set once by the final flush; a plain flag, read synchronously on every offer. */
  let closed = false
  /** Set when the final flush was given up at its bound: its write may hold the lock forever. */
  let abandoned = false
  /** Whether the current back-pressure episode began; cleared when a batch is written. */
  let waitLogged = false
  /** When back-pressure was last logged, and the episodes begun since (logged at most once per `overloadLogEvery`). */
  let waitLoggedAt: number | undefined
  let waitEpisodes = 0
  /** When dropped records were last logged. */
  let dropsLoggedAt: number | undefined
  const degraded = yield* Ref.make(false)
  const written = yield* Ref.make(0)
  const dropped = yield* Ref.make(0)
  const droppedLogged = yield* Ref.make(0)
  const unwrittenAtClose = yield* Ref.make(0)
  const lock = yield* Effect.makeSemaphore(1)
  const failureLog = FailureLog.make()

  const onFailure = (error: StoreError) =>
    Effect.gen(function* () {
      yield* failureLog.failed(error, (yield* Ref.get(inflight)).length + queued())
      if (!(yield* Ref.getAndSet(degraded, true))) {
        const at = yield* Clock.currentTimeMillis
        yield* events.publish(DegradedModeEntered.make({ at, component: "records", reason: error.message }))
      }
    })

  const onSuccess = (batch: ReadonlyArray<GatewayRecord>) =>
    Effect.gen(function* () {
      waitLogged = false
      yield* Ref.update(written, (n) => n + batch.length)
      yield* failureLog.succeeded
      if (yield* Ref.getAndSet(degraded, false)) {
        yield* events.publish(DegradedModeLeft.make({ at: yield* Clock.currentTimeMillis, component: "records" }))
      }
    })

  /** A store whose write dies (a bug, a driver's throw) fails the write instead: retried and logged, not the writer's end. */
  const asFailure = (defect: unknown) =>
    new StoreError({
      operation: "records.writeBatch",
      reason: `unexpected error: ${defect instanceof Error ? defect.message : String(defect)}`
    })

  const writeOnce = (batch: ReadonlyArray<GatewayRecord>) =>
    Effect.uninterruptible(
      metrics.persist(batch, store.writeBatch(batch)).pipe(
        Effect.catchAllDefect((defect) => Effect.fail(asFailure(defect))),
        Effect.zipRight(Ref.set(inflight, [])),
        Effect.tapBoth({ onFailure, onSuccess: () => onSuccess(batch) })
      )
    )

  const takeBatch = Effect.uninterruptible(
    Effect.gen(function* () {
      const c = yield* Queue.takeUpTo(costs, config.batchSize)
      const o = yield* Queue.takeUpTo(others, config.batchSize - Chunk.size(c))
      const batch: ReadonlyArray<GatewayRecord> = [...c, ...o]
      yield* Ref.set(inflight, batch)
      return batch
    })
  )

  /** Log the records dropped since the last such line: at most once per `overloadLogEvery`, unless `force` (at close). */
  const logDrops = (force: boolean) =>
    Effect.gen(function* () {
      const total = yield* Ref.get(dropped)
      const before = yield* Ref.get(droppedLogged)
      if (total === before) return
      const now = yield* Clock.currentTimeMillis
      if (!force && dropsLoggedAt !== undefined && now - dropsLoggedAt < Duration.toMillis(overloadLogEvery)) return
      dropsLoggedAt = now
      yield* Ref.set(droppedLogged, total)
      yield* Effect.logWarning(`record queue full: dropped the ${total - before} oldest non-cost records (${total} in all)`)
    })

  const costsIn = (records: ReadonlyArray<GatewayRecord>) => records.filter((r) => r._tag === "CostRecord").length

  const sizeOf = (queue: Queue.Dequeue<unknown>): number => Option.getOrElse(queue.unsafeSize(), () => 0)
  /** Records waiting in both queues. */
  const queued = (): number => sizeOf(costs) + sizeOf(others)

  /**
   * Write the in-flight batch, then what waits, batch by batch: everything
   * (`flush`, shutdown, late records), or (`dueOnly`, the background writer,
   * when its interval is up or a full batch waits) one batch, then more only
   * while a full batch waits. A smaller remainder then waits for its own
   * interval (its `arrived` signal is given again): under steady load the
   * writer sends full batches (one transaction, fsync and thread round trip
   * each) rather than whatever arrived during the last write.
   */
  const flushWith = <X>(schedule: Schedule.Schedule<X, StoreError>, dueOnly = false) =>
    lock.withPermits(1)(
      Effect.gen(function* () {
        const inflightBatch = yield* Ref.get(inflight)
        if (inflightBatch.length > 0) yield* Effect.retry(writeOnce(inflightBatch), schedule)
        let batch = yield* takeBatch
        while (batch.length > 0) {
          yield* Effect.retry(writeOnce(batch), schedule)
          // Under sustained load this loop does not end: drops are logged as they happen (at most once a minute).
          yield* logDrops(false)
          batch = !dueOnly || queued() >= config.batchSize ? yield* takeBatch : []
        }
        if (dueOnly && queued() > 0) arrived.unsafeOffer(undefined)
        yield* logDrops(closed)
      })
    )

  /**
   * Until the waiting records are due: at once when a full batch waits, else
   * the flush interval or a full batch, whichever comes first. A `wake` left
   * from before the last flush is dropped first (what it announced was written).
   */
  const due = Effect.zipRight(
    Queue.takeAll(wake),
    Effect.suspend(() =>
      queued() >= config.batchSize ? Effect.void : Effect.raceFirst(Queue.take(wake), Effect.sleep(config.flushIntervalMs))
    )
  )

  /** Take both queues until they stay empty (each take lets cost records that waited for room in). */
  const takeQueued = Effect.gen(function* () {
    const taken: Array<GatewayRecord> = []
    while (queued() > 0) taken.push(...(yield* Queue.takeAll(costs)), ...(yield* Queue.takeAll(others)))
    return taken
  })

  /**
   * Give up on what is unwritten after the final flush failed: the in-flight
   * batch and both queues (`takeQueued`), forgotten by metrics and counted in one error.
   */
  const giveUp = (error: StoreError) =>
    Effect.gen(function* () {
      const lost: Array<GatewayRecord> = [...(yield* Ref.getAndSet(inflight, [])), ...(yield* takeQueued)]
      if (lost.length === 0) return
      yield* metrics.forget(lost)
      yield* Ref.update(unwrittenAtClose, (n) => n + lost.length)
      yield* Effect.logError(`record writer stopped with ${lost.length} unwritten records (${costsIn(lost)} cost records)`, error.message)
    })

  /**
   * Stop waiting for a final flush that ran past `server.shutdownGraceMs`
   * (without its lock: the stuck write holds it): the batch being written may
   * yet commit, the queued records will not be written. Both counted in one error.
   */
  const abandon = Effect.gen(function* () {
    abandoned = true
    const writing = yield* Ref.get(inflight)
    const queuedRecords = yield* takeQueued
    yield* metrics.forget(queuedRecords)
    const total = writing.length + queuedRecords.length
    yield* Ref.update(unwrittenAtClose, (n) => n + total)
    yield* Effect.logError(
      `record writer: the final flush did not finish within ${server.shutdownGraceMs} ms (server.shutdownGraceMs); ` +
        `${total} records are not known to be written (${costsIn(writing) + costsIn(queuedRecords)} cost records): ` +
        `${writing.length} in the batch being written, which may or may not be committed, and ${queuedRecords.length} queued, not written`
    )
  })

  /**
   * Write what is left, within `server.shutdownGraceMs`. The flush runs on a
   * fiber of its own (`disconnect`): a write cannot be interrupted, so past
   * the bound it is left running rather than waited for.
   */
  const finalFlush = Effect.gen(function* () {
    yield* Effect.sync(() => {
      closed = true
    })
    const finished = yield* flushWith(shutdownRetry).pipe(
      Effect.catchAll((error) => lock.withPermits(1)(giveUp(error))),
      Effect.disconnect,
      Effect.interruptible,
      Effect.timeoutTo({ duration: Duration.millis(server.shutdownGraceMs), onSuccess: () => true, onTimeout: () => false })
    )
    if (!finished) yield* abandon
  })

  // Idle until a record arrives (no timer while nothing waits), then flush after the interval or when a batch is full.
  const writer = yield* Queue.take(arrived).pipe(
    Effect.zipRight(due),
    Effect.zipRight(flushWith(writeRetry, true)),
    Effect.forever,
    Effect.forkDaemon
  )

  // On close the writer is interrupted without waiting for it (a write in progress cannot be interrupted, and may
  // never return): the final flush takes the lock once that write is done, or gives up at its bound.
  yield* Effect.addFinalizer(() => Effect.zipRight(Effect.fiberIdWith((id) => Fiber.interruptAsFork(writer, id)), finalFlush))

  /** A full queue: cost records wait for room, other queues drop their oldest record. */
  const offerFull = (record: GatewayRecord) =>
    Effect.gen(function* () {
      if (record._tag === "CostRecord") {
        if (!waitLogged) {
          waitLogged = true
          waitEpisodes++
          const now = yield* Clock.currentTimeMillis
          if (waitLoggedAt === undefined || now - waitLoggedAt >= Duration.toMillis(overloadLogEvery)) {
            const often = waitLoggedAt === undefined ? "" : ` (${waitEpisodes} times in the last ${Duration.format(Duration.millis(now - waitLoggedAt))})`
            waitLoggedAt = now
            waitEpisodes = 0
            yield* Effect.logWarning(
              `record queue full (${config.queueCapacity} cost records): cost records wait for room (back-pressure) until a batch is written${often}`
            )
          }
        }
        yield* Queue.offer(costs, record)
      } else {
        while (!(yield* Queue.offer(others, record))) {
          const oldest = yield* Queue.poll(others)
          if (oldest._tag === "Some") {
            yield* Ref.update(dropped, (n) => n + 1)
            yield* metrics.forget([oldest.value])
          }
        }
      }
    })


  /** Wake the writer: a record arrived, and a full batch waits. Sliding queues of one: a pending signal is enough. */
  const signal = () => {
    arrived.unsafeOffer(undefined)
    if (queued() >= config.batchSize) wake.unsafeOffer(undefined)
  }

  /**
   * Queue a record. The common case (room in its queue) is synchronous, in the
   * step of `metrics.observe` (bench/README.md); a full queue takes
   * `offerFull`, and then checks whether the writer closed meanwhile.
   */
  const offerQueued = (record: GatewayRecord): Effect.Effect<void> => {
    const accepted = record._tag === "CostRecord" ? costs.unsafeOffer(record) : others.unsafeOffer(record)
    if (accepted) {
      // Not closed when this step began, and nothing ran in between: the final flush will take it.
      signal()
      return Effect.void
    }
    return Effect.map(offerFull(record), signal).pipe(Effect.zipRight(afterQueued))
  }

  /** A record offered after the writer closed: written directly (not once the final flush was given up: its write may never end). */
  const offerLate = (record: GatewayRecord) =>
    abandoned
      ? Effect.zipRight(metrics.forget([record]), Effect.logError(`late ${record._tag} not written: the record writer gave up its final flush`))
      : Effect.zipRight(
        Effect.logWarning(`record ${record._tag} offered after the writer closed; writing it directly`),
        flushWith(shutdownRetry).pipe(
          Effect.zipRight(Effect.retry(writeOnce([record]), shutdownRetry)),
          Effect.catchAll((error) =>
            Effect.zipRight(metrics.forget([record]), Effect.logError(`late ${record._tag} lost`, error.message))
          )
        )
      )

  /** Closed while we were queueing: the final flush may have missed this record (given up: `abandon` took and counted it). */
  const afterQueued = Effect.suspend(() =>
    closed && !abandoned ? flushWith(shutdownRetry).pipe(Effect.catchAll((error) => lock.withPermits(1)(giveUp(error)))) : Effect.void
  )

  /**
   * Observe and queue a record when called (inside the caller's step): no
   * Effect step of its own when it is queued at once (`Effect.void`). The
   * `closed` flag and the queue are read in that same step, as before.
   */
  const offerNow = (record: GatewayRecord): Effect.Effect<void> => {
    const observeNow = metrics.observeNow
    if (observeNow === undefined) return Effect.flatMap(metrics.observe(record), () => (closed ? offerLate(record) : offerQueued(record)))
    observeNow(record)
    return closed ? offerLate(record) : offerQueued(record)
  }

  const offer = (record: GatewayRecord): Effect.Effect<void> => Effect.suspend(() => offerNow(record))

  const stats = Effect.all({
    queuedCosts: Queue.size(costs),
    queuedOthers: Queue.size(others),
    pending: Effect.map(Ref.get(inflight), (batch) => batch.length + queued()),
    written: Ref.get(written),
    dropped: Ref.get(dropped),
    degraded: Ref.get(degraded)
  })

  return Context.make(RecordSink, RecordSink.of({ offer, offerNow })).pipe(
    Context.add(RecordWriter, RecordWriter.of({ flush: Effect.orDie(flushWith(writeRetry)), stats, unwrittenAtClose: Ref.get(unwrittenAtClose) }))
  )
})

/** The live record sink (and its control), in the layer's scope. */
export const layer: Layer.Layer<RecordSink | RecordWriter, never, RecordStore | Metrics | Events | GatewayConfig> =
  Layer.scopedContext(make)
