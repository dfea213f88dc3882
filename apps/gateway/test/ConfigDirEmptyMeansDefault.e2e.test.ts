/**
 * `MODELGATE_CONFIG_DIR=""` (a blank line in `.env`, `export MODELGATE_CONFIG_DIR=`
 * in a script) means the default, `./config`, for every file: `serve` read
 * `./gateway.json` but `/models.json` (at the root of the file system), and
 * `config validate` checked the directory "".
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Child from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { settles, until } from "./support/HangDetector.js"
import { bin, ensureBuilt, registry, tempDir } from "./support/ServeProcess.js"

/** `dir` with `config/gateway.json` and `config/models.json`, and nothing at its top. */
const configured = Effect.map(tempDir("modelgate-config-dir-empty-"), (dir) => {
  fs.mkdirSync(path.join(dir, "config", "environments"), { recursive: true })
  fs.writeFileSync(path.join(dir, "config", "gateway.json"), JSON.stringify({ healthCheck: { enabled: false } }))
  fs.writeFileSync(path.join(dir, "config", "models.json"), JSON.stringify(registry))
  return dir
})

const spawn = (dir: string, args: ReadonlyArray<string>) => {
  const child = Child.spawn(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: dir, MODELGATE_DB: path.join(dir, "data", "modelgate.db"), MODELGATE_CONFIG_DIR: "" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout.on("data", (b: Buffer) => void (out += b.toString()))
  child.stderr.on("data", (b: Buffer) => void (out += b.toString()))
  return { child, output: () => out }
}

describe("MODELGATE_CONFIG_DIR empty", () => {
  beforeAll(() => ensureBuilt())

  it.scoped("config validate checks ./config", () =>
    Effect.gen(function* () {
      const dir = yield* configured
      const { child, output } = spawn(dir, ["config", "validate"])
      const code = yield* settles("modelgate config validate", () => new Promise<number | null>((resolve) => child.once("close", resolve)))
      assert.strictEqual(code, 0, output())
      assert.include(output(), "configuration is valid")
    }))

  it.scoped("serve reads gateway.json and models.json of ./config", () =>
    Effect.gen(function* () {
      const dir = yield* configured
      const { child, output } = yield* Effect.acquireRelease(
        Effect.sync(() => spawn(dir, ["serve", "--port", "0"])),
        ({ child }) => Effect.sync(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")))
      )
      yield* until(
        "modelgate serve start-up",
        Effect.sync(() => {
          if (/modelgate listening on/.test(output())) return true
          if (child.exitCode !== null) return assert.fail(`serve exited ${child.exitCode}: ${output()}`)
          return undefined
        }),
        output
      )
      assert.notInclude(output(), "/models.json")
    }))
})
