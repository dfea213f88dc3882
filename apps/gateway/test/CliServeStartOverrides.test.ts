/**
 * `serve --port` / `--host` win over `server.port` / `server.host` at every
 * start: the app is told so, and a reload that edits them in the files then
 * names the flag instead of asking for a restart that would change nothing
 * (core's ReloadStartOnly.test.ts has the warning itself).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Commands from "../src/cli/Commands.js"
import type { AppLayer, AppLayerOptions } from "../src/cli/runtime.js"

/** Run `modelgate serve ...args`; the app layer records what it was given and fails, so serve ends. */
const serveOptions = (env: Record<string, string>, ...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const given: Array<AppLayerOptions> = []
    const app = (options: AppLayerOptions) => {
      given.push(options)
      return Layer.fail("stop here") as unknown as AppLayer
    }
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-cli-overrides-"))
    Fs.writeFileSync(Path.join(dir, "gateway.json"), "{}")
    const exit = yield* Commands.run(app)(["node", "modelgate", "serve", "--config", dir, ...args]).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    assert.isTrue(Exit.isFailure(exit))
    assert.strictEqual(given.length, 1, JSON.stringify(exit))
    return given[0]!.startOverrides ?? []
  })

describe("serve --port / --host over the config", () => {
  it.effect("tells the app which start-only settings the flags set", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* serveOptions({}, "--port", "9100", "--host", "0.0.0.0"), [
        { field: "server.port", by: "--port" },
        { field: "server.host", by: "--host" }
      ])
      assert.deepStrictEqual(yield* serveOptions({}), [], "without flags the files decide")
    }))
})
