/**
 * The record worker: batch writes of records on a worker thread that owns its
 * own better-sqlite3 connection to the database file, so a write (and the
 * WAL fsync or checkpoint that may follow it) never blocks the event loop.
 * WAL mode lets the main thread's connection keep reading meanwhile.
 *
 * The worker script is `internal/recordWorkerMain.js` next to this module
 * (`dist`); when this module runs from its TypeScript source (vitest, tsx) it
 * is the `.ts` file, which a small bootstrap loads after registering tsx's
 * loader in the thread (Node 20 does not apply `--import tsx` to a worker's
 * entry). The worker lives in the scope that made it: closing the scope stops
 * it after the writes in flight finished.
 */
import * as Worker from "@effect/platform/Worker"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import { StoreError } from "@modelgate/domain/Errors"
import { Deferred, Effect, Exit } from "effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker as NodeThread } from "node:worker_threads"
import { type TableRows, toColumns } from "./internal/recordRows.js"
import { type Request, WriteRows } from "./internal/recordWorkerProtocol.js"

/** Batch writes on the worker thread. */
export interface RecordWorker {
  /** Write every table's rows in one transaction on the worker's connection. */
  readonly write: (tables: ReadonlyArray<TableRows>) => Effect.Effect<void, StoreError>
}

const fromSource = import.meta.url.endsWith(".ts")

/** The worker script: the compiled `.js` in `dist`, or the `.ts` source under vitest / tsx. */
export const script: URL = new URL(`./internal/recordWorkerMain.${fromSource ? "ts" : "js"}`, import.meta.url)

/** From TypeScript sources: register tsx in the thread, then load the script (resolved from the working directory, the repository). */
const bootstrap = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(script.href)}) })`

const newThread = (filename: string) =>
  fromSource ? new NodeThread(bootstrap, { eval: true, workerData: { filename } }) : new NodeThread(script, { workerData: { filename } })

const startError = (reason: string) =>
  new StoreError({ operation: "records.worker", reason: `record worker ${fileURLToPath(script)}: ${reason}` })

/**
 * Start the worker on `filename` (already migrated) in the current scope.
 * Fails with a `StoreError` naming the script when it is missing or the thread
 * dies before it is ready.
 */
export const make = (filename: string) =>
  Effect.gen(function* () {
    if (!fs.existsSync(script)) {
      return yield* startError(fromSource ? "not found" : "not found (build the package: npm run build)")
    }
    const failed = yield* Deferred.make<never, StoreError>()
    const spawn = () => {
      const thread = newThread(filename)
      thread.once("error", (error) => Deferred.unsafeDone(failed, Exit.fail(startError(`failed: ${error.message}`))))
      thread.once("exit", (code) => Deferred.unsafeDone(failed, Exit.fail(startError(`exited with code ${code} before it was ready`))))
      return thread
    }
    const worker = yield* Worker.makeSerialized<Request>({}).pipe(
      Effect.mapError((error) => startError(error.message)),
      Effect.raceFirst(Deferred.await(failed)),
      Effect.provide(NodeWorker.layer(spawn))
    )
    const write = Effect.fn("RecordWorker.write")(
      function* (tables: ReadonlyArray<TableRows>) {
        if (tables.length === 0) return
        yield* worker.executeEffect(new WriteRows({ tables: tables.map(toColumns) }, { disableValidation: true }))
      },
      Effect.mapError((error) =>
        error._tag === "RecordWriteFailed"
          ? new StoreError({ operation: "records.writeBatch", reason: error.reason })
          : new StoreError({ operation: "records.writeBatch", reason: `record worker: ${error.message}` })
      )
    )
    return { write } satisfies RecordWorker
  })
