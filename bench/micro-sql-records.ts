/**
 * Micro benchmark of writing record batches on the SQLite write worker thread:
 * `RecordStoreSql` on the worker (`RecordWorker`) over a temporary migrated
 * file, batches of 500 records as the gateway's RecordWriter hands them over
 * (a CostRecord, a PerformanceRecord and a QualityScoreRecord per request; the
 * cost records first, as the writer's two queues drain). Prints the CPU of the
 * whole process (all threads: `process.cpuUsage`) per record, the shares of
 * the main thread, the worker thread and the rest (/proc ticks), and the wall
 * time per batch: best and median of blocks after a warm-up. Batches are
 * written one after the other.
 *
 *   node --import tsx bench/micro-sql-records.ts [blocks] [batchesPerBlock] [sqlDist] [recordsPerBatch]
 *
 * Writer mode: core's RecordWriter (records.batchSize 500, flushIntervalMs
 * 250) over the same store, fed the records of `requestsPerSecond` requests
 * in real time, as the gateway feeds it; prints CPU per request of each
 * thread and the batches the writer made (how many per second, how large):
 *
 *   node --import tsx bench/micro-sql-records.ts writer [requestsPerSecond] [seconds] [sqlDist]
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`). `sqlDist` (for
 * A/B runs) is another build of packages/sql/dist to load instead, e.g. a copy
 * under packages/sql/build/ (it must sit inside the repository so that its
 * imports resolve).
 */
import * as Events from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig } from "@modelgate/core/GatewayConfigSchema"
import { RecordSink } from "@modelgate/core/RecordSink"
import { RecordStore } from "@modelgate/core/RecordStore"
import { CostRecord, type GatewayRecord, PerformanceRecord, QualityScoreRecord } from "@modelgate/domain/Records"
import type * as RecordStoreSqlModule from "@modelgate/sql/RecordStoreSql"
import type * as SqliteModule from "@modelgate/sql/Sqlite"
import { NodeContext } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const writerMode = process.argv[2] === "writer"
const blocks = Number(process.argv[2] ?? 7)
const perBlock = Number(process.argv[3] ?? 20)
const warmup = 10
const sqlDistArg = process.argv[writerMode ? 5 : 4]
const sqlDist = sqlDistArg === undefined || sqlDistArg === "-" ? undefined : sqlDistArg
const batchSize = Number(process.argv[5] ?? 500)
const load = <A>(module: string): Promise<A> =>
  sqlDist === undefined ? import(`@modelgate/sql/${module}`) : import(path.resolve(sqlDist, `${module}.js`))
const RecordStoreSql = await load<typeof RecordStoreSqlModule>("RecordStoreSql")
const Sqlite = await load<typeof SqliteModule>("Sqlite")

const models = [
  ["gpt-4o-mini", "openai"],
  ["claude-3-5-haiku", "anthropic"],
  ["gemini-2.0-flash", "google"]
] as const
let request = 0
const at0 = 1_760_000_000_000

/** The records of one request, built as core builds them (validation off, optional values present as undefined). */
const requestRecords = (): ReadonlyArray<GatewayRecord> => {
  const i = request++
  const [model, provider] = models[i % models.length]!
  const requestId = `mg-${(0x10000000 + i).toString(16)}-${i % 7}a3f`
  const at = at0 + i * 3
  return [
    new CostRecord(
      {
        at,
        requestId,
        model,
        provider,
        apiKeyId: `${provider}-1`,
        agentType: i % 4 === 0 ? "coder" : undefined,
        taskType: undefined,
        promptTokens: 12 + (i % 50),
        completionTokens: 30 + (i % 90),
        cachedTokens: 0,
        costPicoUsd: 2_250_000 + i,
        cacheHit: false
      },
      true
    ),
    new PerformanceRecord(
      {
        at,
        requestId,
        model,
        provider,
        latencyMs: 1.25 + (i % 17) * 0.37,
        timeToFirstTokenMs: i % 2 === 0 ? 0.8 : undefined,
        streamed: i % 2 === 0,
        agentType: i % 4 === 0 ? "coder" : undefined,
        success: true,
        outputTokens: 30 + (i % 90),
        cacheHit: false
      },
      true
    ),
    new QualityScoreRecord(
      {
        at,
        requestId,
        model,
        taskType: undefined,
        completeness: 1,
        relevance: 0.62 + (i % 10) / 100,
        coherence: 0.9,
        score: 0.81,
        lowQuality: false
      },
      true
    )
  ]
}

/** A batch as the record writer builds it: the cost records, then the others in arrival order. */
const batch = (): ReadonlyArray<GatewayRecord> => {
  const costs: Array<GatewayRecord> = []
  const others: Array<GatewayRecord> = []
  while (costs.length + others.length < batchSize) {
    const [cost, ...rest] = requestRecords()
    costs.push(cost!)
    others.push(...rest)
  }
  return [...costs, ...others]
}

/** CPU ticks (user + system) of each thread of this process, from /proc. */
const threadTicks = (): Map<string, number> =>
  new Map(
    fs.readdirSync("/proc/self/task").map((tid) => {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      return [tid, Number(fields[11]) + Number(fields[12])] as const
    })
  )
const tickUs = 10_000

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** A migrated SQLite file in a temporary directory (removed at the end), and the record store writing it on the worker thread. */
const workerStore = Effect.gen(function* () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "micro-sql-records-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  const db = yield* Layer.build(Sqlite.layer(path.join(dir, "modelgate.db")))
  const store = Context.get(
    yield* Layer.build(RecordStoreSql.layerWith({ thread: "worker" }).pipe(Layer.provide(Layer.succeedContext(db)))),
    RecordStore
  )
  return { db, store }
})

const program = Effect.gen(function* () {
  const before = new Set(threadTicks().keys())
  const { store } = yield* workerStore
  for (let i = 0; i < warmup; i++) yield* store.writeBatch(batch())
  // The record worker thread: the thread started since (the others are the main thread, V8's helpers and loaders).
  const workerThreads = [...threadTicks().keys()].filter((tid) => !before.has(tid))
  const share = (t0: Map<string, number>, t1: Map<string, number>) => {
    let main = 0
    let worker = 0
    let other = 0
    for (const [tid, ticks] of t1) {
      const d = ticks - (t0.get(tid) ?? 0)
      if (tid === String(process.pid)) main += d
      else if (workerThreads.includes(tid)) worker += d
      else other += d
    }
    return { main, worker, other }
  }
  const cpu: Array<number> = []
  const main: Array<number> = []
  const worker: Array<number> = []
  const other: Array<number> = []
  const wall: Array<number> = []
  for (let b = 0; b < blocks; b++) {
    const batches = Array.from({ length: perBlock }, batch)
    const records = perBlock * batchSize
    const t0 = process.hrtime.bigint()
    const c0 = process.cpuUsage()
    const t0s = threadTicks()
    for (const records of batches) yield* store.writeBatch(records)
    const c = process.cpuUsage(c0)
    const ticks = share(t0s, threadTicks())
    const t = Number(process.hrtime.bigint() - t0) / 1e6
    cpu.push((c.user + c.system) / records)
    main.push((ticks.main * tickUs) / records)
    worker.push((ticks.worker * tickUs) / records)
    other.push((ticks.other * tickUs) / records)
    wall.push(t / perBlock)
  }
  const fmt = (xs: ReadonlyArray<number>, digits: number) => `best ${Math.min(...xs).toFixed(digits)} median ${median(xs).toFixed(digits)}`
  console.log(`${blocks} blocks of ${perBlock} batches of ${batchSize} records (after ${warmup} warm-up batches)`)
  console.log(`CPU per record, all threads: ${fmt(cpu, 2)} us`)
  console.log(`  main thread:                ${fmt(main, 2)} us (10 ms ticks)`)
  console.log(`  record worker thread:       ${fmt(worker, 2)} us (10 ms ticks)`)
  console.log(`  other threads (V8 helpers): ${fmt(other, 2)} us (10 ms ticks)`)
  console.log(`wall per batch:              ${fmt(wall, 2)} ms`)
  console.log(`CPU per batch, all threads:  ${fmt(cpu.map((us) => (us * batchSize) / 1000), 3)} ms`)
})

/** The RecordWriter fed in real time; the worker thread and the batches it gets. */
const writer = Effect.gen(function* () {
  const rate = Number(process.argv[3] ?? 2500)
  const seconds = Number(process.argv[4] ?? 6)
  const before = new Set(threadTicks().keys())
  const { db, store } = yield* workerStore
  let batches = 0
  let records = 0
  const counted = RecordStore.of({
    writeBatch: (batch) => Effect.suspend(() => ((batches += 1), (records += batch.length), store.writeBatch(batch)))
  })
  const config = new GatewayConfigData({
    ...defaultConfig,
    records: RecordsConfig.make({ queueCapacity: 10_000, flushIntervalMs: 250, batchSize: 500 })
  })
  const accounting = RecordStoreSql.layerAccountingWith(Layer.succeed(RecordStore, counted)).pipe(
    Layer.provide(Layer.mergeAll(Layer.succeedContext(db), Events.layer, GatewayConfig.layerStatic(config)))
  )
  const sink = Context.get(yield* Layer.build(accounting), RecordSink)
  const feed = (ms: number) =>
    Effect.gen(function* () {
      const start = performance.now()
      let sent = 0
      while (performance.now() - start < ms) {
        const due = Math.floor(((performance.now() - start) / 1000) * rate)
        for (; sent < due; sent++) for (const record of requestRecords()) yield* sink.offer(record)
        yield* Effect.sleep("1 millis")
      }
      return sent
    })
  yield* feed(2_000)
  const workerThreads = [...threadTicks().keys()].filter((tid) => !before.has(tid))
  const t0 = threadTicks()
  const c0 = process.cpuUsage()
  const b0 = batches
  const r0 = records
  const sent = yield* feed(seconds * 1_000)
  const c = process.cpuUsage(c0)
  const t1 = threadTicks()
  let main = 0
  let worker = 0
  for (const [tid, ticks] of t1) {
    if (tid === String(process.pid)) main += ticks - (t0.get(tid) ?? 0)
    else if (workerThreads.includes(tid)) worker += ticks - (t0.get(tid) ?? 0)
  }
  const n = batches - b0
  console.log(`${sent} requests at ${rate}/s over ${seconds} s: ${n} batches (${(n / seconds).toFixed(0)}/s) of ${((records - r0) / n).toFixed(1)} records on average`)
  console.log(`CPU per request, all threads: ${((c.user + c.system) / sent).toFixed(1)} us (main includes building and offering the records)`)
  console.log(`  main thread: ${((main * tickUs) / sent).toFixed(1)} us, record worker thread: ${((worker * tickUs) / sent).toFixed(1)} us`)
})

Effect.runPromise(Effect.scoped(writerMode ? writer : program).pipe(Effect.provide(NodeContext.layer))).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
