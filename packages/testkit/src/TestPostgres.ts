/**
 * A PostgreSQL server for tests, with nothing installed: PGlite (PostgreSQL
 * compiled to WebAssembly, in this process) behind pglite-socket's server of
 * the PostgreSQL wire protocol on a loopback port, so the gateway's real
 * client (`@effect/sql-pg` over `pg`) talks to it as to any server. With
 * `MODELGATE_TEST_DATABASE_URL` set (`postgres://user:pass@host/db`), a
 * real server is used instead: each test gets a database of its own there.
 *
 * PGlite runs one session: the socket server queues its clients' queries and,
 * while one client's transaction or query with parameters is open, runs only
 * that client's (`keepQueriesWhole`), so several connections work but only
 * take turns. `fresh` asks for a pool of
 * one connection per client on PGlite; two gateways on it make two.
 */
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import * as Reactivity from "@effect/experimental/Reactivity"
import { PgClient } from "@effect/sql-pg"
import { Config, Context, Effect, Layer, Option, Redacted, type Scope } from "effect"
import * as crypto from "node:crypto"

/** An empty database for one test. */
export interface FreshDatabase {
  /** Its URL (no password on PGlite). */
  readonly url: Redacted.Redacted<string>
  /** The pool size to connect with: 1 on PGlite (one session), any on a real server. */
  readonly maxConnections: number
  /** Its name on the server. */
  readonly name: string
}

/** The test server. */
export class TestPostgres extends Context.Tag("@modelgate/testkit/TestPostgres")<
  TestPostgres,
  {
    /**
     * An empty database, held until `release` (`fresh` pairs them in a
     * scope). On PGlite tests take turns (the next waits for the release
     * before it) and each starts from an empty `public` schema.
     */
    readonly acquire: Effect.Effect<FreshDatabase>
    /** Give back a database of `acquire` (on a real server it is dropped). */
    readonly release: (database: FreshDatabase) => Effect.Effect<void>
    /** Whether this is PGlite (one session) rather than a real server. */
    readonly embedded: boolean
    /**
     * PGlite only: stop answering (the listener closes and every connection
     * is dropped; the data stays) until the returned effect starts it again
     * on the same port. A real server: a defect.
     */
    readonly outage: Effect.Effect<Effect.Effect<void>>
  }
>() {}

/** The parts of pglite-socket's query queue (0.2.17, not exported) that `keepQueriesWhole` replaces. */
interface QueryQueue {
  queue: Array<{
    readonly handlerId: number
    readonly message: Uint8Array
    readonly resolve: (bytes: number) => void
    readonly reject: (error: unknown) => void
    readonly onData: (data: Uint8Array) => void
  }>
  processing: boolean
  lastHandlerId: number | null
  readonly db: PGlite
  processQueue: () => Promise<void>
  clearQueueForHandler: (handlerId: number) => void
}

/** The messages of a query with parameters before its Sync: Parse, Bind, Describe, Execute, Flush, Close. */
const extendedQuery = new Set([0x50, 0x42, 0x44, 0x45, 0x48, 0x43])

/**
 * Make `server` run a client's query with parameters whole: pglite-socket
 * runs its clients' messages one by one from one queue, keeping to one client
 * only while its transaction is open, so another client's Parse could come
 * between a client's Parse and its Bind (PGlite has one session: the unnamed
 * statement is replaced, "unnamed prepared statement does not exist"), which
 * happens as soon as a large query arrives in several packets. Here the queue
 * also keeps to a client from its Parse to its Sync, as a server's session
 * per connection would. (Its failed message also no longer stops the queue.)
 */
const keepQueriesWhole = (server: PGLiteSocketServer) => {
  const queue = (server as unknown as { readonly queryQueue: QueryQueue }).queryQueue
  let midQuery = false
  const clear = queue.clearQueueForHandler.bind(queue)
  queue.clearQueueForHandler = (handlerId) => {
    if (handlerId === queue.lastHandlerId) midQuery = false
    clear(handlerId)
  }
  queue.processQueue = async () => {
    if (queue.processing || queue.queue.length === 0) return
    queue.processing = true
    while (queue.queue.length > 0) {
      const keep = queue.lastHandlerId !== null && (midQuery || queue.db.isInTransaction())
      const at = keep ? queue.queue.findIndex((q) => q.handlerId === queue.lastHandlerId) : 0
      // That client's next message has not come yet: the queue runs again when it does.
      if (at === -1) break
      const item = queue.queue.splice(at, 1)[0]!
      let bytes = 0
      try {
        await queue.db.runExclusive(() =>
          queue.db.execProtocolRawStream(item.message, {
            onRawData: (data) => {
              bytes += data.length
              item.onData(data)
            }
          }))
      } catch (error) {
        item.reject(error)
        continue
      }
      queue.lastHandlerId = item.handlerId
      midQuery = extendedQuery.has(item.message[0]!)
      item.resolve(bytes)
    }
    queue.processing = false
  }
  return server
}

/** PGlite and its socket server, stopped with the scope. */
const pglite = Effect.gen(function* () {
  const db = yield* Effect.acquireRelease(
    Effect.promise(() => PGlite.create()),
    (db) => Effect.promise(() => db.close())
  )
  const listen = (port: number) =>
    Effect.promise(async () => {
      const server = keepQueriesWhole(new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 16 }))
      await server.start()
      return server
    })
  let server: PGLiteSocketServer = yield* listen(0)
  yield* Effect.addFinalizer(() => Effect.promise(() => server.stop()))
  const port = Number(String(server.getServerConn()).split(":").pop())
  const outage = Effect.promise(() => server.stop()).pipe(
    Effect.as(Effect.map(listen(port), (restarted) => void (server = restarted)))
  )
  const url = Redacted.make(`postgres://postgres@127.0.0.1:${port}/postgres`)
  const turn = yield* Effect.makeSemaphore(1)
  const reset = Effect.promise(() => db.exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
  return TestPostgres.of({
    embedded: true,
    outage,
    acquire: Effect.zipRight(turn.take(1), reset).pipe(Effect.as({ url, maxConnections: 1, name: "postgres" })),
    release: () => turn.release(1)
  })
})

/** Run one statement on the server at `url` (its own short-lived connection). */
const adminQuery = (url: Redacted.Redacted<string>, statement: string) =>
  Effect.scoped(
    Effect.flatMap(PgClient.make({ url, maxConnections: 1 }), (sql) => sql.unsafe(statement))
  ).pipe(Effect.provide(Reactivity.layer), Effect.orDie)

/** A real server at `url`: each `fresh` creates a database there and drops it with the scope. */
const external = (url: Redacted.Redacted<string>) =>
  Effect.sync(() =>
    TestPostgres.of({
      embedded: false,
      outage: Effect.dieMessage("TestPostgres.outage: only PGlite can be stopped and started by the tests"),
      acquire: Effect.sync(() => `modelgate_test_${crypto.randomUUID().replaceAll("-", "")}`).pipe(
        Effect.tap((name) => adminQuery(url, `CREATE DATABASE ${name}`)),
        Effect.map((name) => {
          const target = new URL(Redacted.value(url))
          target.pathname = `/${name}`
          return { url: Redacted.make(target.toString()), maxConnections: 4, name }
        })
      ),
      release: ({ name }) => adminQuery(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    })
  )

/** The test server: `MODELGATE_TEST_DATABASE_URL`'s when set, else PGlite in this process (about 2 s to start). */
export const layer: Layer.Layer<TestPostgres> = Layer.scoped(
  TestPostgres,
  Effect.flatMap(
    Effect.orDie(Config.option(Config.redacted("MODELGATE_TEST_DATABASE_URL"))),
    Option.match({ onNone: () => pglite, onSome: external })
  )
)

/** An empty database for one test, until the scope closes. */
export const fresh: Effect.Effect<FreshDatabase, never, TestPostgres | Scope.Scope> = Effect.flatMap(TestPostgres, (s) =>
  Effect.acquireRelease(s.acquire, s.release))
