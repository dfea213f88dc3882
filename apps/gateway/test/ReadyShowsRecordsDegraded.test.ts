/**
 * `GET /ready` over a real socket while the record store fails (disk full):
 * the gateway stays ready (it serves; records wait in memory) and says so in
 * `records`: degraded, and how many records are not written yet; once the
 * store accepts writes again, degraded is false and nothing is pending.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { RecordSink } from "@modelgate/core/RecordSink"
import * as RecordStore from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"
import { StoreError } from "@modelgate/domain/Errors"
import { CostRecord } from "@modelgate/domain/Records"
import { ConfigProvider, Context, Effect, Layer, Ref, Schedule } from "effect"
import * as Http from "node:http"
import * as HttpApp from "../src/HttpApp.js"
import { request } from "./support/Client.js"
import { echoGateway, services } from "./support/Doubles.js"

const broken = Effect.runSync(Ref.make(true))

const failingStore = RecordStore.layerMemoryFailing(
  Effect.flatMap(Ref.get(broken), (b) => (b ? Effect.fail(new StoreError({ operation: "records.writeBatch", reason: "SQLITE_FULL: database or disk is full" })) : Effect.void))
)

/** The live record writer over the failing store; only its sink and control are given to the app. */
const writer = Layer.effectContext(
  Effect.map(Effect.context<RecordWriter | RecordSink>(), Context.pick(RecordWriter, RecordSink))
).pipe(Layer.provide(AccountingMemory.layerOver(failingStore)))

const app = Layer.fresh(HttpApp.layer).pipe(
  Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(writer),
  Layer.provideMerge(services(echoGateway)),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
)

interface Records {
  readonly degraded: boolean
  readonly pending: number
  readonly written: number
}

/** `/ready`'s status and records, asked until `done` holds (live clock: the writer's interval is 250 ms). */
const readyUntil = (done: (records: Records) => boolean) =>
  request("/ready").pipe(
    Effect.map((reply) => ({ status: reply.status, records: reply.json.records as Records })),
    Effect.filterOrFail((r) => r.records !== undefined && done(r.records), () => "not yet"),
    Effect.retry(Schedule.spaced("25 millis")),
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("/ready never showed the expected records state") })
  )

const cost = CostRecord.make({
  at: 1,
  requestId: "r1",
  model: "gpt-test",
  provider: "openai",
  promptTokens: 10,
  completionTokens: 5,
  cachedTokens: 0,
  costPicoUsd: 1_000,
  cacheHit: false
})

describe("/ready while the record store fails", () => {
  layer(app, { excludeTestServices: true })((it) => {
    it.effect("stays 200, says records are degraded and pending, then recovered", () =>
      Effect.gen(function* () {
        const before = yield* readyUntil(() => true)
        assert.strictEqual(before.status, 200)
        assert.deepInclude(before.records, { degraded: false, pending: 0 })

        yield* Effect.flatMap(RecordSink, (sink) => sink.offer(cost))
        const failing = yield* readyUntil((r) => r.degraded)
        assert.strictEqual(failing.status, 200, "a failing store does not make the gateway unready")
        assert.strictEqual(failing.records.pending, 1)
        assert.strictEqual(failing.records.written, 0)

        yield* Ref.set(broken, false)
        const recovered = yield* readyUntil((r) => !r.degraded)
        assert.deepInclude(recovered.records, { degraded: false, pending: 0, written: 1 })
      }))
  })
})
