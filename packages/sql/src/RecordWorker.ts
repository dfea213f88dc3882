/**
 * The write worker: record batches and cache writes on a worker thread that
 * owns its own better-sqlite3 connection to the database file, so a write (and
 * the WAL fsync or checkpoint that may follow it) never blocks the event loop.
 * WAL mode lets the main thread's connection keep reading meanwhile. One
 * thread serves both stores (`SharedRecordWorker`, provided by `Sqlite.layer`
 * for a file).
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
import { Context, Deferred, Effect, Exit, Layer, Option, type ParseResult, Scope } from "effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker as NodeThread } from "node:worker_threads"
import type { CacheRow } from "./internal/cacheRows.js"
import { type TableRows, toColumns } from "./internal/recordRows.js"
import {
  CacheDelete,
  CacheEvict,
  CacheSet,
  CacheSweep,
  CacheTouch,
  type Request,
  type WorkerData,
  type WriteFailed,
  WriteRows
} from "./internal/recordWorkerProtocol.js"

/** The cache store's writes on the worker thread, each in its own transaction. */
export interface CacheWrites {
  readonly set: (row: CacheRow) => Effect.Effect<void, StoreError>
  readonly touch: (keys: ReadonlyArray<string>, now: number) => Effect.Effect<void, StoreError>
  readonly delete: (key: string) => Effect.Effect<void, StoreError>
  readonly sweep: (now: number) => Effect.Effect<number, StoreError>
  readonly evict: (bounds: { readonly maxEntries: number; readonly maxBytes: number }) => Effect.Effect<number, StoreError>
}

/** Writes on the worker thread. */
export interface RecordWorker {
  /** Write every table's rows in one transaction on the worker's connection. */
  readonly write: (tables: ReadonlyArray<TableRows>) => Effect.Effect<void, StoreError>
  /** The cache store's writes. */
  readonly cache: CacheWrites
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

/**
 * Start the worker on `filename` (already migrated) in the current scope.
 * Fails with a `StoreError` naming the script when it is missing or the
 * thread dies before it is ready.
 */
export const make = (filename: string) =>
  Effect.gen(function* () {
    if (!fs.existsSync(script)) {
      return yield* startError(fromSource ? "not found" : "not found (build the package: npm run build)")
    }
    const failed = yield* Deferred.make<never, StoreError>()
    const spawn = () => {
      const thread = newThread({ filename })
      thread.once("error", (error) => Deferred.unsafeDone(failed, Exit.fail(startError(`failed: ${error.message}`))))
      thread.once("exit", (code) => Deferred.unsafeDone(failed, Exit.fail(startError(`exited with code ${code} before it was ready`))))
      return thread
    }
    const worker = yield* Worker.makeSerialized<Request>({}).pipe(
      Effect.mapError((error) => startError(error.message)),
      Effect.raceFirst(Deferred.await(failed)),
      Effect.provide(NodeWorker.layer(spawn))
    )

    /** Send a request; every failure is a `StoreError`. */
    const execute = <A>(operation: string, send: Effect.Effect<A, WriteFailed | WorkerError | ParseResult.ParseError>) =>
      Effect.mapError(send, (error) =>
        error._tag === "WriteFailed"
          ? new StoreError({ operation, reason: error.reason })
          : new StoreError({ operation, reason: `record worker: ${error.message}` })
      )

    const write = Effect.fn("RecordWorker.write")(function* (tables: ReadonlyArray<TableRows>) {
      if (tables.length === 0) return
      yield* execute(
        "records.writeBatch",
        worker.executeEffect(new WriteRows({ tables: tables.map(toColumns) }, { disableValidation: true }))
      )
    })

    const cache: CacheWrites = {
      set: (row) => execute("cache write", worker.executeEffect(new CacheSet({ row }, { disableValidation: true }))),
      touch: (keys, now) => (keys.length === 0 ? Effect.void : execute("cache touch", worker.executeEffect(new CacheTouch({ keys, now })))),
      delete: (key) => execute("cache delete", worker.executeEffect(new CacheDelete({ key }))),
      sweep: (now) => execute("cache sweep", worker.executeEffect(new CacheSweep({ now }))),
      evict: (bounds) => execute("cache evict", worker.executeEffect(new CacheEvict({ bounds })))
    }

    return { write, cache } satisfies RecordWorker
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
