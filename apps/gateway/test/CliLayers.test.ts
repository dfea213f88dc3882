/**
 * `modelgate models` and `modelgate costs` on their real, smallest layers
 * (`runtime.ts`): the registry or the cost store over the configured database,
 * never the whole gateway (no provider adapter, no health probe, no key check).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Console, Effect, Exit, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Commands from "../src/cli/Commands.js"
import { makeCostsLayer, makeRegistryLayer } from "../src/cli/runtime.js"
import * as Sqlite from "@modelgate/sql/Sqlite"

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")

const run = (...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const console = new Proxy({} as Console.Console, {
      get: (_target, key) => {
        if (key === "log" || key === "error") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(xs.join(" ")))
        if (key === Console.TypeId) return Console.TypeId
        return () => Effect.void
      }
    })
    const config = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-config-"))
    Fs.copyFileSync(Path.join(repoRoot, "config", "models.json"), Path.join(config, "models.json"))
    // A provider that would hang a health probe: the command must not touch it.
    Fs.writeFileSync(Path.join(config, "gateway.json"), JSON.stringify({ providers: { openai: { baseUrl: "http://10.255.255.1:9/v1" } } }))
    // An empty database, as `serve` leaves it: `models` and `costs` do not create one (CliReadsExistingDatabase.test.ts).
    const db = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-db-")), "x.db")
    yield* Effect.scoped(Layer.build(Sqlite.layer(db).pipe(Layer.provide(NodeContext.layer))))
    const exit = yield* Commands.run({
      app: () => Layer.die("the whole gateway must not be built"),
      registry: makeRegistryLayer,
      costs: makeCostsLayer
    })(["node", "modelgate", ...args, "--config", config]).pipe(
      Effect.withConsole(console),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MODELGATE_DB", db]]))),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { exit, out: out.join("\n"), db }
  })

describe("cli layers", () => {
  it.effect("models reads the registry alone", () =>
    Effect.gen(function* () {
      const { exit, out } = yield* run("models")
      assert.isTrue(Exit.isSuccess(exit), `${out}\n${JSON.stringify(exit)}`)
      assert.match(out, /^MODEL\s+PROVIDER/)
      assert.match(out, /gpt-4o-mini\s+openai\s+yes/)
    }))

  it.effect("costs reads the cost store alone; with no records in the range it says so, not an empty table", () =>
    Effect.gen(function* () {
      const { exit, out } = yield* run("costs", "--since", "7d")
      assert.isTrue(Exit.isSuccess(exit), `${out}\n${JSON.stringify(exit)}`)
      assert.match(out, /^no records since \d{4}-\d{2}-\d{2}T/)
      assert.notInclude(out, "REQUESTS")
    }))
})
