/**
 * The record writer over a scripted memory store, for the tests of a failing
 * or hanging store: the writer lives in a scope the test closes, and
 * `withLogs` keeps every log line ("LEVEL message").
 */
import { StoreError } from "@modelgate/domain/Errors"
import { Context, Effect, Layer, Logger, Ref, Scope, Stream } from "effect"
import { Events } from "@modelgate/core/Events"
import * as GatewayConfig from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, RecordsConfig, ServerConfig } from "@modelgate/core/GatewayConfigSchema"
import { RecordSink } from "@modelgate/core/RecordSink"
import * as RecordStore from "@modelgate/core/RecordStore"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import * as AccountingMemory from "@modelgate/core/RecordWriter/Memory"

/** The error of the broken store. */
export const diskFull = new StoreError({ operation: "write", reason: "SQLITE_FULL: database or disk is full" })

/** What the writer's settings differ in from the defaults. */
export interface StackOptions {
  readonly records?: Partial<typeof RecordsConfig.Type>
  readonly server?: Partial<typeof ServerConfig.Type>
}

/**
 * A writer over a memory store whose writes first run `before` (when given),
 * then fail with `diskFull` while `broken`; built in a scope of its own.
 */
export const setup = (options: StackOptions, broken: Ref.Ref<boolean>, before?: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const store = RecordStore.layerMemoryFailing(
      Effect.zipRight(before ?? Effect.void, Effect.flatMap(Ref.get(broken), (b) => (b ? Effect.fail(diskFull) : Effect.void)))
    )
    const storeCtx = yield* Layer.build(store)
    const scope = yield* Scope.make()
    const config = new GatewayConfigData({
      ...defaultConfig,
      server: ServerConfig.make({ ...defaultConfig.server, ...options.server }),
      records: RecordsConfig.make({ ...defaultConfig.records, ...options.records })
    })
    const ctx = yield* Layer.buildWithScope(
      AccountingMemory.layerOver(Layer.succeedContext(storeCtx)).pipe(
        Layer.provide(Layer.succeed(Events, Events.of({ publish: () => Effect.void, subscribe: Stream.empty }))),
        Layer.provide(GatewayConfig.layerStatic(config))
      ),
      scope
    )
    return {
      scope,
      sink: Context.get(ctx, RecordSink),
      writer: Context.get(ctx, RecordWriter),
      stored: Context.get(storeCtx, RecordStore.MemoryRecordStore).all
    }
  })

/** Run `self` with a logger that keeps every line as "LEVEL message" (e.g. "WARN record writes failing: ..."). */
export const withLogs = <A, E, R>(self: (logs: Ref.Ref<ReadonlyArray<string>>) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const logs = yield* Ref.make<ReadonlyArray<string>>([])
    const logger = Logger.make(({ logLevel, message }) => {
      const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
      Effect.runSync(Ref.update(logs, (all) => [...all, `${logLevel.label} ${text}`]))
    })
    return yield* Effect.provide(self(logs), Logger.replace(Logger.defaultLogger, logger))
  })

/** How many lines contain `text`. */
export const count = (logs: ReadonlyArray<string>, text: string) => logs.filter((line) => line.includes(text)).length
