/**
 * The write worker: record batches, cache writes and the record retention's
 * deletes on a worker thread that owns its own better-sqlite3 connection to
 * the database file, so a write (and the WAL fsync or checkpoint that may
 * follow it) never blocks the event loop.
 * WAL mode lets the main thread's connection keep reading meanwhile. One
 * thread serves both stores (`SharedRecordWorker`, provided by `Sqlite.layer`
 * for a file).
 *
 * A thread that dies (killed, out of memory) is replaced: its writes in flight
 * fail with a `StoreError` (the record writer retries them; a batch carries an
 * id committed with its rows, so a batch that was committed before the thread
 * died is not written again), the death is logged, and the next write starts a
 * fresh thread.
 *
 * The worker script is `internal/recordWorkerMain.js` next to this module
 * (`dist`); when this module runs from its TypeScript source (vitest, tsx) it
 * is the `.ts` file, which a small bootstrap loads after registering tsx's
 * loader in the thread (Node 20 does not apply `--import tsx` to a worker's
 * entry). The worker lives in the scope that made it: closing the scope stops
 * it after the writes in flight finished.
 */
import * as Worker from "@effect/platform/Worker"
import type { WorkerError } from "@effect/platform/WorkerError"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import { StoreError } from "@modelgate/domain/Errors"
import { Cause, Context, Deferred, Effect, Exit, Layer, Option, type ParseResult, Scope } from "effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker as NodeThread } from "node:worker_threads"
import type { CachePurge, CacheRow } from "./internal/cacheRows.js"
import { keepBatchIds, type RecordTable, type TableColumns, type TableRows, toColumns } from "./internal/recordRows.js"
import {
  CacheDelete,
  CacheEvict,
  CachePurgeRows,
  CacheSet,
  CacheSweep,
  CacheTouch,
  DeleteRecords,
  type Request,
  type WorkerData,
  type WriteFailed,
  WriteRows
} from "./internal/recordWorkerProtocol.js"

/** What a batch write did: wrote the rows, or found its batch id committed already (nothing written). */
export type WriteOutcome = "written" | "already-written"

/** The cache store's writes on the worker thread, each in its own transaction. */
export interface CacheWrites {
  /** Insert or replace the rows, in order, in one transaction. */
  readonly set: (rows: ReadonlyArray<CacheRow>) => Effect.Effect<void, StoreError>
  readonly touch: (keys: ReadonlyArray<string>, now: number) => Effect.Effect<void, StoreError>
  readonly delete: (key: string) => Effect.Effect<void, StoreError>
  /** Delete the rows a purge covers and log it (`cache_purges`); how many went and the purge's id. */
  readonly purge: (purge: CachePurge, at: number) => Effect.Effect<{ readonly deleted: number; readonly id: number }, StoreError>
  readonly sweep: (now: number) => Effect.Effect<number, StoreError>
  readonly evict: (bounds: { readonly maxEntries: number; readonly maxBytes: number }) => Effect.Effect<number, StoreError>
}

/** Writes on the worker thread. */
export interface RecordWorker {
  /**
   * Write every table's rows in one transaction on the worker's connection.
   * With a `batchId` (stable across retries of the same batch), a batch whose
   * id was committed before is not written again.
   */
  readonly write: (
    tables: ReadonlyArray<TableRows>,
    options?: { readonly batchId?: string | undefined }
  ) => Effect.Effect<WriteOutcome, StoreError>
  /** `write`, given each table's columns and flat values (what crosses to the thread) instead of row objects. */
  readonly writeColumns: (
    tables: ReadonlyArray<TableColumns>,
    options?: { readonly batchId?: string | undefined }
  ) => Effect.Effect<WriteOutcome, StoreError>
  /** The cache store's writes. */
  readonly cache: CacheWrites
  /** Delete at most `limit` rows of `table` recorded before `before` (epoch ms), oldest first; how many (the record retention). */
  readonly deleteRecords: (table: RecordTable, before: number, limit: number) => Effect.Effect<number, StoreError>
  /** How many threads have started so far: 1, plus one per thread that died and was replaced. */
  readonly threadsStarted: Effect.Effect<number>
}

/** Options of `make`; the last three are test hooks. */
export interface MakeOptions {
  /** How many committed batch ids `record_batches` keeps at least (the newest; default 1000; pruned every tenth of it). */
  readonly keepBatchIds?: number | undefined
  /** Test hook: the first thread exits (code 7) right after its n-th committed batch, before it replies. */
  readonly exitAfterCommits?: number | undefined
  /** Test hook: called with every thread as it is spawned. */
  readonly onThread?: ((thread: NodeThread) => void) | undefined
  /** Test hook: how long the thread's connection waits for another connection's lock (ms; default the driver's 5 s). */
  readonly busyTimeoutMs?: number | undefined
}

const fromSource = import.meta.url.endsWith(".ts")

/** The worker script: the compiled `.js` in `dist`, or the `.ts` source under vitest / tsx. */
export const script: URL = new URL(`./internal/recordWorkerMain.${fromSource ? "ts" : "js"}`, import.meta.url)

/** From TypeScript sources: register tsx in the thread, then load the script (resolved from the working directory, the repository). */
const bootstrap = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(script.href)}) })`

const newThread = (workerData: WorkerData) =>
  fromSource ? new NodeThread(bootstrap, { eval: true, workerData }) : new NodeThread(script, { workerData })

const startError = (reason: string) =>
  new StoreError({ operation: "records.worker", reason: `record worker ${fileURLToPath(script)}: ${reason}` })

/** One thread and the platform worker over it, in a scope of its own. */
interface Thread {
  readonly number: number
  readonly worker: Worker.SerializedWorker<Request>
  readonly scope: Scope.CloseableScope
  /** Completed with the reason when the thread exits or fails. */
  readonly exited: Deferred.Deferred<string>
  /** Set when the thread is being closed on purpose (scope close, or replaced): its exit is no death. */
  retired: boolean
}

/**
 * Start the worker on `filename` (already migrated) in the current scope.
 * Fails with a `StoreError` naming the script when it is missing or the first
 * thread dies before it is ready.
 */
export const make = (filename: string, options: MakeOptions = {}) =>
  Effect.gen(function* () {
    if (!fs.existsSync(script)) {
      return yield* startError(fromSource ? "not found" : "not found (build the package: npm run build)")
    }
    const parent = yield* Effect.scope
    const lock = yield* Effect.makeSemaphore(1)
    let current: Thread | undefined
    let started = 0
    let closing = false
    // Runs after the watchers (forked in `parent` later) were interrupted: stop the current thread, start no other.
    yield* Effect.addFinalizer(() =>
      lock.withPermits(1)(
        Effect.suspend(() => {
          closing = true
          const thread = current
          current = undefined
          return thread === undefined ? Effect.void : Scope.close(thread.scope, Exit.void)
        })
      )
    )

    /** A thread that exited unasked: log it and forget it (closing its scope); the next write starts another. Under `lock`. */
    const retire = (thread: Thread, reason: string) =>
      Effect.gen(function* () {
        if (thread.retired) return
        thread.retired = true
        if (current === thread) current = undefined
        yield* Effect.logWarning(`record worker thread ${thread.number} ${reason}; the next write starts a new thread`)
        yield* Scope.close(thread.scope, Exit.void)
      })

    /** Retire a thread as soon as it exits, before the platform worker would restart it in place. */
    const watch = (thread: Thread) =>
      Deferred.await(thread.exited).pipe(
        Effect.flatMap((reason) => lock.withPermits(1)(retire(thread, reason))),
        Effect.interruptible,
        Effect.forkIn(parent)
      )

    const start = Effect.gen(function* () {
      const number = started + 1
      const scope = yield* Scope.make()
      const exited = yield* Deferred.make<string>()
      const data: WorkerData = {
        filename,
        keepBatchIds: options.keepBatchIds ?? keepBatchIds,
        ...(number === 1 && options.exitAfterCommits !== undefined ? { exitAfterCommits: options.exitAfterCommits } : {}),
        ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs })
      }
      const spawn = () => {
        const thread = newThread(data)
        thread.once("error", (error) => Deferred.unsafeDone(exited, Exit.succeed(`failed: ${error.message}`)))
        thread.once("exit", (code) => Deferred.unsafeDone(exited, Exit.succeed(`exited with code ${code}`)))
        options.onThread?.(thread)
        return thread
      }
      // Both sides interruptible: the caller may be uninterruptible (the record writer's write), and the loser must stop.
      const worker = yield* Worker.makeSerialized<Request>({}).pipe(
        Effect.mapError((error) => startError(error.message)),
        Effect.interruptible,
        Effect.raceFirst(
          Effect.interruptible(Effect.flatMap(Deferred.await(exited), (reason) => startError(`${reason} before it was ready`)))
        ),
        Effect.provide(NodeWorker.layer(spawn)),
        Scope.extend(scope),
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
      const thread: Thread = { number, worker, scope, exited, retired: false }
      yield* Scope.addFinalizer(scope, Effect.sync(() => void (thread.retired = true)))
      yield* watch(thread)
      started = number
      current = thread
      if (number > 1) yield* Effect.logInfo(`record worker thread ${number} started`)
      return thread
    })

    /** The current thread; one that has exited (its watcher not run yet) is retired first; none: start one. */
    const acquire = lock.withPermits(1)(
      Effect.gen(function* () {
        if (closing) return yield* new StoreError({ operation: "records.worker", reason: "the record worker has stopped (its scope closed)" })
        const thread = current
        if (thread !== undefined) {
          const exited = yield* Deferred.poll(thread.exited)
          if (Option.isNone(exited)) return thread
          yield* retire(thread, yield* exited.value)
        }
        return yield* start
      })
    )

    /** Send a request to the current thread (starting one when there is none); every failure is a `StoreError`. */
    const execute = <A>(
      operation: string,
      send: (worker: Worker.SerializedWorker<Request>) => Effect.Effect<A, WriteFailed | WorkerError | ParseResult.ParseError>
    ) =>
      Effect.gen(function* () {
        const thread = yield* acquire
        const exit = yield* Effect.exit(send(thread.worker))
        if (Exit.isSuccess(exit)) return exit.value
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure) && failure.value._tag === "WriteFailed") {
          return yield* new StoreError({ operation, reason: failure.value.reason })
        }
        const exited = yield* Deferred.poll(thread.exited)
        const reason = Option.isSome(exited)
          ? `${yield* exited.value} before it replied`
          : Option.match(failure, { onNone: () => Cause.pretty(exit.cause), onSome: (error) => error.message })
        return yield* new StoreError({ operation, reason: `record worker thread ${thread.number}: ${reason}` })
      })

    yield* acquire

    const writeColumns = Effect.fn("RecordWorker.write")(function* (
      tables: ReadonlyArray<TableColumns>,
      writeOptions?: { readonly batchId?: string | undefined }
    ) {
      if (tables.length === 0) return "written" as const
      const request = new WriteRows(
        { tables, ...(writeOptions?.batchId === undefined ? {} : { batchId: writeOptions.batchId }) },
        { disableValidation: true }
      )
      const { written } = yield* execute("records.writeBatch", (worker) => worker.executeEffect(request))
      return written ? ("written" as const) : ("already-written" as const)
    })
    const write = (tables: ReadonlyArray<TableRows>, writeOptions?: { readonly batchId?: string | undefined }) =>
      writeColumns(tables.map(toColumns), writeOptions)

    const cache: CacheWrites = {
      set: (rows) =>
        rows.length === 0
          ? Effect.void
          : execute("cache write", (worker) => worker.executeEffect(new CacheSet({ rows }, { disableValidation: true }))),
      touch: (keys, now) =>
        keys.length === 0 ? Effect.void : execute("cache touch", (worker) => worker.executeEffect(new CacheTouch({ keys, now }))),
      delete: (key) => execute("cache delete", (worker) => worker.executeEffect(new CacheDelete({ key }))),
      purge: (purge, at) => execute("cache purge", (worker) => worker.executeEffect(new CachePurgeRows({ purge, at }))),
      sweep: (now) => execute("cache sweep", (worker) => worker.executeEffect(new CacheSweep({ now }))),
      evict: (bounds) => execute("cache evict", (worker) => worker.executeEffect(new CacheEvict({ bounds })))
    }

    const deleteRecords = (table: RecordTable, before: number, limit: number) =>
      execute("records.retention", (worker) => worker.executeEffect(new DeleteRecords({ table, before, limit })))

    return { write, writeColumns, cache, deleteRecords, threadsStarted: Effect.sync(() => started) } satisfies RecordWorker
  })

/**
 * The one write worker of a SQLite file, shared by the record and cache
 * stores: started by the first store that asks (`get`), in the scope of the
 * layer that provides it (`Sqlite.layer`), so it outlives the stores' final
 * writes.
 */
export class SharedRecordWorker extends Context.Tag("@modelgate/sql/RecordWorker/SharedRecordWorker")<
  SharedRecordWorker,
  {
    /** The database file the worker writes. */
    readonly filename: string
    /** The worker, started on the first call; a start that failed is tried again by the next call. */
    readonly get: Effect.Effect<RecordWorker, StoreError>
  }
>() {}

/** The shared worker of `filename` (a file, migrated before the first `get`). */
export const layerShared = (filename: string): Layer.Layer<SharedRecordWorker> =>
  Layer.scoped(
    SharedRecordWorker,
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const lock = yield* Effect.makeSemaphore(1)
      let worker: RecordWorker | undefined
      const get = lock.withPermits(1)(
        Effect.suspend(() =>
          worker !== undefined
            ? Effect.succeed(worker)
            : Effect.tap(Scope.extend(make(filename), scope), (made) => Effect.sync(() => void (worker = made)))
        )
      )
      return SharedRecordWorker.of({ filename, get })
    })
  )

/**
 * The worker for `filename`: the shared one when `SharedRecordWorker` is
 * provided for this file, else a worker of its own in the current scope.
 */
export const forFile = (filename: string): Effect.Effect<RecordWorker, StoreError, Scope.Scope> =>
  Effect.flatMap(Effect.serviceOption(SharedRecordWorker), (shared) =>
    Option.isSome(shared) && shared.value.filename === filename ? shared.value.get : make(filename)
  )
