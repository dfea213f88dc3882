/**
 * `serve` after SIGTERM / SIGINT (an interruption of the command): once the
 * gateway closed, the count of records its record writer could not vouch for
 * is in the `ShutdownReport`, and the entry point's teardown makes it exit
 * code 1 with one line on stderr; 0 when every record was written.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import { ConfigProvider, Deferred, Effect, Exit, Fiber, Layer, Logger, Ref } from "effect"
import * as Path from "node:path"
import * as Commands from "../src/cli/Commands.js"
import * as RecordsAtExit from "../src/cli/RecordsAtExit.js"
import { echoGateway, services } from "./support/Doubles.js"
import { writeConfig } from "./support/RunCli.js"

/** `serve` on the doubles plus a record writer that reports `unwritten` at close, interrupted once it listens; the report's count after. */
const serveThenStop = (unwritten: number) =>
  Effect.gen(function* () {
    const listening = yield* Deferred.make<void>()
    const logger = Logger.make(({ message }) => {
      if (String(message).includes("modelgate listening on")) Deferred.unsafeDone(listening, Exit.void)
    })
    const writer = Layer.succeed(
      RecordWriter,
      RecordWriter.of({
        flush: Effect.void,
        stats: Effect.succeed({ queuedCosts: 0, queuedOthers: 0, pending: 0, written: 0, dropped: 0, degraded: false }),
        unwrittenAtClose: Effect.succeed(unwritten)
      })
    )
    const report = yield* RecordsAtExit.makeReport
    const dir = writeConfig({ "models.json": { models: [] } })
    const fiber = yield* Commands.run(() => Layer.merge(services(echoGateway), writer))(
      ["node", "modelgate", "serve", "--port", "0", "--host", "127.0.0.1", "--config", dir]
    ).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MODELGATE_DB", Path.join(dir, "data", "modelgate.db")]]))),
      Effect.provideService(RecordsAtExit.ShutdownReport, report),
      Effect.provide(NodeContext.layer),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Effect.fork
    )
    yield* Deferred.await(listening)
    const exit = yield* Fiber.interrupt(fiber)
    const printed: Array<string> = []
    let code: number | undefined
    RecordsAtExit.teardown(report, (line) => printed.push(line))(exit, (c) => {
      code = c
    })
    return { reported: yield* Ref.get(report.unwritten), code, printed }
  })

describe("serve exit after a signal", () => {
  it.live("every record written: exit 0, nothing printed", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* serveThenStop(0), { reported: 0, code: 0, printed: [] })
    }))

  it.live("records not known to be written: exit 1 and one line naming how many", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* serveThenStop(3), {
        reported: 3,
        code: 1,
        printed: ["modelgate: shut down with 3 record(s) not known to be written (see the error logged before); exit code 1"]
      })
    }))
})
