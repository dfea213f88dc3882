/**
 * `modelgate demo` (`npx modelgate demo`) run from a directory without
 * `config/models.json` (a subdirectory of the repository, say) fails with a
 * message saying which file it needs, like `serve` and `models` do, and not
 * with a defect (bin.ts prints "unexpected failure" and a stack trace).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Option } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { runDemo } from "../src/cli/demo.js"

describe("demo outside the repository root", () => {
  it.live("fails with a message naming the missing registry, not a defect", () =>
    Effect.gen(function* () {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-nowhere-"))
      const before = process.cwd()
      process.chdir(dir)
      const exit = yield* runDemo({ port: 0, host: "127.0.0.1" }).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.provide(NodeContext.layer),
        Effect.timeout("10 seconds"),
        Effect.ensuring(Effect.sync(() => process.chdir(before))),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.isFalse(Cause.isDie(exit.cause), `a defect: ${Cause.pretty(exit.cause)}`)
        const failure = Cause.failureOption(exit.cause)
        assert.isTrue(Option.isSome(failure), Cause.pretty(exit.cause))
        const message = (failure as Option.Some<Error>).value.message
        assert.include(message, Path.join("config", "models.json"))
        assert.include(message, "repository root")
      }
    }), 30_000)
})
