/**
 * Gateway instances (`GatewayLive`) on one fresh PostgreSQL database of
 * the `TestPostgres` server, over the fake providers: what the tests of
 * sharing between instances start from.
 */
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import * as TestPostgres from "@modelgate/testkit/TestPostgres"
import { Effect, Layer } from "effect"

/**
 * The fakes (their config directory written from `options`), a gateway `a`
 * built on one new database, and `another` that builds one more on it.
 */
export const postgresPair = (options: Parameters<typeof FakeStackConfig.make>[0]) =>
  Effect.gen(function* () {
    const { maxConnections, url } = yield* TestPostgres.fresh
    const fakes = yield* FakeStackConfig.make(options)
    const instance = GatewayLive.layerWith({
      configDirectory: fakes.dir,
      watch: false,
      database: { _tag: "Postgres", url, maxConnections }
    }).pipe(Layer.provide(Layer.setConfigProvider(fakes.configProvider)))
    return { fakes, a: yield* Layer.build(instance), another: Layer.build(instance) }
  })
