/**
 * A provider's `baseUrl` that is no http(s) URL (the scheme left out, a
 * typo'd one) would make every call to that provider an `InvalidUrl`
 * transport failure. It is a configuration problem like any other: `validate`
 * lists it with its file and field, a reload keeps the running URL, and the
 * environment variable that set it is named; the value is not quoted (a base
 * URL may hold a proxy's credentials).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as Events from "@modelgate/core/Events"
import { GatewayConfig, layer, validate } from "@modelgate/core/GatewayConfig"
import { ConfigProvider, Context, Effect, Either, Layer, Option } from "effect"
import * as path from "node:path"

const withEnv = (env: Record<string, string> = {}) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const configDir = (gateway: unknown) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-baseurl-" })
    yield* fs.writeFileString(path.join(dir, "gateway.json"), JSON.stringify(gateway))
    yield* fs.writeFileString(path.join(dir, "models.json"), JSON.stringify({ models: [] }))
    return dir
  })

const notUrls = ["api.openai.com/v1", "htps://api.openai.com/v1", "ftp://proxy.internal/v1", "http//proxy:secret@host/v1"]

describe("a provider baseUrl that is no http(s) URL", () => {
  it.scoped("validate lists it with its file and field, without quoting it", () =>
    Effect.gen(function* () {
      for (const baseUrl of notUrls) {
        const dir = yield* configDir({ providers: { openai: { baseUrl }, acme: { baseUrl: "https://acme.example/v1" } } })
        const problems = yield* validate(dir)
        assert.deepStrictEqual(problems.map((e) => `${path.relative(dir, e.file)}:${e.path}`), ["gateway.json:providers.openai.baseUrl"], baseUrl)
        assert.include(problems[0]!.message, "http:// or https:// URL")
        assert.notInclude(problems[0]!.message, "secret")
      }
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scoped("a reload with one is rejected and the running URL stays", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* configDir({ providers: { openai: { baseUrl: "https://proxy.internal/v1" } } })
      const ctx = yield* Layer.build(layer({ directory: dir, watch: false }).pipe(Layer.provide(Events.layer), Layer.provide(NodeContext.layer)))
      const config = Context.get(ctx, GatewayConfig)
      yield* fs.writeFileString(path.join(dir, "gateway.json"), JSON.stringify({ providers: { openai: { baseUrl: "proxy.internal/v1" } } }))
      const reloaded = yield* Effect.either(config.reload)
      assert.deepStrictEqual(Either.getLeft(reloaded).pipe(Option.map((e) => e.path)), Option.some("providers.openai.baseUrl"))
      assert.strictEqual((yield* config.get).providers.openai!.baseUrl, "https://proxy.internal/v1")
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))

  it.scoped("set by OPENAI_BASE_URL: the variable is named", () =>
    Effect.gen(function* () {
      const dir = yield* configDir({})
      const problems = yield* validate(dir).pipe(withEnv({ OPENAI_BASE_URL: "api.openai.com/v1" }))
      assert.strictEqual(problems.length, 1)
      assert.include(problems[0]!.message, "OPENAI_BASE_URL")
    }).pipe(withEnv(), Effect.provide(NodeContext.layer)))
})
