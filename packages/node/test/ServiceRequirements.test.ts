/**
 * DESIGN.md: "a subsystem is a service: a tag, an interface of Effects with no
 * leaked requirements". Every member of every service a package exports (each
 * `Context.Tag` reachable from its barrel) must reach only Effects and Streams
 * whose requirement type is `never`, down through what they return (a
 * `Provider` from `Providers.get`, the `StreamAnswer` of `Gateway.stream`).
 * Checked by `tsc -b` (this file is type-checked with the tests); the runtime
 * test makes sure the barrels hold every tag the packages declare, so none
 * escapes the check.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Core from "@modelgate/core"
import * as Domain from "@modelgate/domain"
import * as Node from "@modelgate/node"
import * as Providers from "@modelgate/providers"
import * as Sql from "@modelgate/sql"
import * as Testkit from "@modelgate/testkit"
import { Context, type Effect, type Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** How deep `RequirementsIn` follows members, returns and results (a countdown). */
type Deeper = [never, 0, 1, 2, 3, 4, 5, 6]

/**
 * The requirements of every Effect and Stream reachable from a value of type
 * `T`: its own, those of what an Effect or Stream yields, of what a function
 * returns, and of an object's members.
 */
type RequirementsIn<T, D extends number = 7> = [D] extends [never] ? never
  : T extends Effect.Effect<infer A, unknown, infer R> ? R | RequirementsIn<A, Deeper[D]>
  : T extends Stream.Stream<infer A, unknown, infer R> ? R | RequirementsIn<A, Deeper[D]>
  : T extends (...args: ReadonlyArray<never>) => infer Out ? RequirementsIn<Out, Deeper[D]>
  : T extends ReadonlyArray<infer X> ? RequirementsIn<X, Deeper[D]>
  : T extends object ? { [K in keyof T]-?: RequirementsIn<T[K], Deeper[D]> }[keyof T]
  : never

/** The members of a service `S` through which a requirement leaks (a plain value, e.g. `InstanceId`'s string, has none). */
type Leaks<S> = S extends object ? { [K in keyof S]-?: [RequirementsIn<S[K]>] extends [never] ? never : K }[keyof S] : never

/** `module.Export.member` for every leaking member of every tag exported by the modules of a barrel. */
type LeaksInBarrel<Barrel> = {
  [M in keyof Barrel & string]: {
    [E in keyof Barrel[M] & string]: Barrel[M][E] extends Context.Tag<infer _Id, infer S> ? `${M}.${E}.${Leaks<S> & string}`
      : never
  }[keyof Barrel[M] & string]
}[keyof Barrel & string]

/** `module.Export` for every tag exported by the modules of a barrel. */
type TagsInBarrel<Barrel> = {
  [M in keyof Barrel & string]: {
    [E in keyof Barrel[M] & string]: Barrel[M][E] extends Context.Tag<infer _Id, infer _S> ? `${M}.${E}` : never
  }[keyof Barrel[M] & string]
}[keyof Barrel & string]

/** The keys of the tags exported by the modules of a barrel, found at run time. */
const tagKeysIn = (barrel: Record<string, Record<string, unknown>>): ReadonlyArray<string> =>
  Object.values(barrel)
    .flatMap((module) => Object.values(module))
    .filter(Context.isTag)
    .map((tag) => tag.key)
    .sort()

const packages = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** The keys of the tags declared in a package's sources (`extends Context.Tag("key")`, `Context.Reference<X>()("key"`), `internal/` left out. */
const tagKeysDeclared = (name: string): ReadonlyArray<string> =>
  (fs.readdirSync(path.join(packages, name, "src"), { recursive: true }) as Array<string>)
    .filter((file) => file.endsWith(".ts") && !file.split(path.sep).includes("internal"))
    .flatMap((file) =>
      [...fs.readFileSync(path.join(packages, name, "src", file), "utf8").matchAll(/extends Context\.(?:Tag|Reference<\w+>\(\))\("([^"]+)"/g)].map((m) => m[1]!)
    )
    .sort()

describe("exported services leak no requirements", () => {
  it("the check names a member whose Effect, Stream or result needs a service", () => {
    class Needed extends Context.Tag("Needed")<Needed, { readonly n: number }>() {}
    interface Example {
      readonly fine: (x: number) => Effect.Effect<string, Error>
      readonly optionalFine?: Effect.Effect<void> | undefined
      readonly direct: Effect.Effect<void, never, Needed>
      readonly method: (x: number) => Effect.Effect<void, never, Needed>
      readonly generic: <A>(a: A) => Effect.Effect<A, never, Needed>
      readonly stream: Stream.Stream<number, never, Needed>
      readonly optional?: ((x: number) => Effect.Effect<void, never, Needed>) | undefined
      readonly nested: (x: number) => Effect.Effect<{ readonly run: Effect.Effect<void, never, Needed> }>
      readonly returned: () => { readonly chunks: Stream.Stream<number, never, Needed> } | undefined
    }
    expectTypeOf<Leaks<Example>>().toEqualTypeOf<"direct" | "method" | "generic" | "stream" | "optional" | "nested" | "returned">()
    class LeakyService extends Context.Tag("LeakyService")<LeakyService, Example>() {}
    expectTypeOf<LeaksInBarrel<{ Leaky: { LeakyService: typeof LeakyService; other: number } }>>().toEqualTypeOf<
      `Leaky.LeakyService.${"direct" | "method" | "generic" | "stream" | "optional" | "nested" | "returned"}`
    >()
    expectTypeOf<TagsInBarrel<{ Leaky: { LeakyService: typeof LeakyService; other: number } }>>().toEqualTypeOf<"Leaky.LeakyService">()
    assert.deepStrictEqual(tagKeysIn({ Leaky: { LeakyService, other: 1 } }), ["LeakyService"])
  })

  it("in @modelgate/core, every member of every service has R = never", () => {
    expectTypeOf<TagsInBarrel<typeof Core>>().toEqualTypeOf<
      | "ApiKeys.ApiKeys"
      | "CacheStore.CacheStore"
      | "CostStore.CostStore"
      | "CostTracker.CostTracker"
      | "EventLogStore.EventLogStore"
      | "Events.EventRelay"
      | "Events.Events"
      | "Failover.Failover"
      | "Gateway.Gateway"
      | "GatewayConfig.GatewayConfig"
      | "HealthChecker.HealthChecker"
      | "HealthMarkStore.HealthMarkStore"
      | "InstanceId.InstanceId"
      | "LimiterStore.LimiterStore"
      | "LimiterUsageStore.LimiterUsageStore"
      | "Metrics.Metrics"
      | "MetricsStore.MetricsStore"
      | "ModelOptimizer.ModelOptimizer"
      | "ModelRegistry.ModelRegistry"
      | "ModelSelector.ModelSelector"
      | "ModelStore.ModelStore"
      | "PerformanceMonitor.PerformanceDetails"
      | "PerformanceMonitor.PerformanceMonitor"
      | "Provider.Providers"
      | "RateLimiter.RateLimiter"
      | "RecordSink.MemoryRecords"
      | "RecordSink.RecordSink"
      | "RecordStore.MemoryRecordStore"
      | "RecordStore.RecordStore"
      | "RecordWriter.RecordWriter"
      | "ResponseCache.CacheControl"
      | "ResponseCache.ResponseCache"
      | "ResponseEvaluator.ResponseEvaluator"
    >()
    expectTypeOf<LeaksInBarrel<typeof Core>>().toEqualTypeOf<never>()
    assert.isAbove(tagKeysIn(Core).length, 20)
  })

  it("in @modelgate/sql, @modelgate/providers, @modelgate/node, @modelgate/testkit and @modelgate/domain too", () => {
    expectTypeOf<TagsInBarrel<typeof Sql>>().toEqualTypeOf<"RecordWorker.SharedRecordWorker" | "Sqlite.SqliteFile">()
    expectTypeOf<LeaksInBarrel<typeof Sql>>().toEqualTypeOf<never>()
    expectTypeOf<LeaksInBarrel<typeof Providers>>().toEqualTypeOf<never>()
    expectTypeOf<LeaksInBarrel<typeof Node>>().toEqualTypeOf<never>()
    expectTypeOf<LeaksInBarrel<typeof Testkit>>().toEqualTypeOf<never>()
    expectTypeOf<LeaksInBarrel<typeof Domain>>().toEqualTypeOf<never>()
  })

  it("each package's barrel reaches every tag its sources declare, so the check above covers them all", () => {
    const barrels = { domain: Domain, core: Core, providers: Providers, sql: Sql, node: Node, testkit: Testkit }
    for (const [name, barrel] of Object.entries(barrels)) {
      assert.deepStrictEqual(tagKeysIn(barrel), tagKeysDeclared(name), `@modelgate/${name}: tags declared vs exported by the barrel`)
    }
  })
})
