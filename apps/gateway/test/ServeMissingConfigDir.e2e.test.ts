/**
 * The built `modelgate` on a configuration directory that does not exist:
 * `serve`, `models` and `costs` stop at once (exit 1) with one error naming
 * the directory, as `config validate` does. `serve` loaded the defaults in
 * place of `gateway.json`, started a watcher that failed and restarted with
 * warnings, and stopped seconds later on "models.json: file not found".
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Child from "node:child_process"
import * as path from "node:path"
import { settles } from "./support/HangDetector.js"
import { bin, ensureBuilt, tempDir } from "./support/ServeProcess.js"

const modelgate = (dir: string, args: ReadonlyArray<string>) =>
  settles(`modelgate ${args.join(" ")}`, () =>
    new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
      const child = Child.spawn(process.execPath, [bin, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: dir, MODELGATE_DB: path.join(dir, "data", "modelgate.db") },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (b: Buffer) => void (output += b.toString()))
      child.stderr.on("data", (b: Buffer) => void (output += b.toString()))
      child.once("close", (code) => resolve({ code, output }))
    }))

describe("a configuration directory that does not exist", () => {
  beforeAll(() => ensureBuilt())

  for (const command of [["serve", "--port", "0"], ["models"], ["costs"]]) {
    it.scoped(`${command[0]} --config <missing>: exit 1, naming the directory`, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir("modelgate-config-missing-")
        const missing = path.join(dir, "no", "such", "dir")
        const { code, output } = yield* modelgate(dir, [command[0]!, "--config", missing, ...command.slice(1)])
        assert.strictEqual(code, 1, output)
        assert.include(output, `${missing}: directory not found`)
        assert.notInclude(output, "models.json")
        assert.notInclude(output, "file watcher")
      }))
  }
})
