/**
 * The built `modelgate` given bad usage (a bad flag value, an unknown flag or
 * command, a missing or extra argument): exit code 2, as usage errors
 * conventionally exit (it was 1 until `config validate` needed its 1 for "the
 * configuration has problems"), one line on stderr naming what was wrong,
 * nothing on stdout. `serve` with a
 * bad port fails before the gateway is built (its startup warnings went to
 * stdout, then node's RangeError from listen), so nothing is left running.
 * Each child runs in a temporary directory with its own MODELGATE_DB and no
 * provider keys: nothing touches the repository's data/.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Child from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { settles } from "./support/HangDetector.js"
import { bin, ensureBuilt, tempDir } from "./support/ServeProcess.js"

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const modelgate = (dir: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  settles(`modelgate ${args.join(" ")}`, () =>
    new Promise<Ran>((resolve) => {
      const child = Child.spawn(process.execPath, [bin, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: dir, MODELGATE_DB: path.join(dir, "data", "modelgate.db"), ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (b: Buffer) => void (stdout += b.toString()))
      child.stderr.on("data", (b: Buffer) => void (stderr += b.toString()))
      child.once("close", (code) => resolve({ code, stdout, stderr }))
    }))

/** The arguments, and what the one line on stderr must contain. */
const cases: ReadonlyArray<readonly [ReadonlyArray<string>, ReadonlyArray<string>]> = [
  [["costs", "--by", "week"], [`--by "week"`, "model, provider, day, agent"]],
  [["costs", "--since", "yesterday"], [`--since "yesterday"`, "24h"]],
  [["serve", "--port", "abc"], [`--port "abc"`, "an integer from 0 to 65535"]],
  [["serve", "--port", "70000"], [`--port "70000"`, "an integer from 0 to 65535"]],
  [["serve", "--port"], ["--port needs a value", "an integer from 0 to 65535"]],
  [["--log-level", "debug", "serve", "--nope"], ["--nope"]],
  [["config", "validate", "--nope"], ["--nope"]],
  [["config", "validate", "a", "b"], ["b"]],
  [["serve", "--config", ""], [`--config ""`, "not empty"]],
  [["config", "validate", ""], [`DIR ""`, "not empty"]],
  [["keys", "new"], ["--name"]],
  [["keys", "new", "--name", " "], ["--name"]],
  [["bogus"], ["use one of 'serve'"]],
]

describe("bad usage of the built modelgate", () => {
  beforeAll(() => ensureBuilt())

  for (const [args, expected] of cases) {
    it.scoped(`modelgate ${args.join(" ")}: exit 2, one line on stderr naming what was wrong`, () =>
      Effect.gen(function* () {
        const dir = yield* tempDir("modelgate-bad-usage-")
        const ran = yield* modelgate(dir, args)
        const what = JSON.stringify(ran)
        assert.strictEqual(ran.code, 2, what)
        assert.strictEqual(ran.stdout, "", what)
        assert.match(ran.stderr.trim(), /^[^\n]+$/, what)
        for (const text of expected) assert.include(ran.stderr, text, what)
        assert.isFalse(fs.existsSync(path.join(dir, "data")), "no database was opened")
      }))
  }

  it.scoped("config validate: exit 1 for a configuration with problems, 0 for a valid one", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("modelgate-validate-exit-")
      fs.mkdirSync(path.join(dir, "config"))
      fs.writeFileSync(path.join(dir, "config", "gateway.json"), JSON.stringify({ server: { port: "x" } }))
      const bad = yield* modelgate(dir, ["config", "validate", "config"])
      assert.strictEqual(bad.code, 1, JSON.stringify(bad))
      assert.include(bad.stderr, "server.port")
      fs.writeFileSync(path.join(dir, "config", "gateway.json"), "{}")
      fs.writeFileSync(path.join(dir, "config", "models.json"), JSON.stringify({ models: [] }))
      const good = yield* modelgate(dir, ["config", "validate", "config"])
      assert.strictEqual(good.code, 0, JSON.stringify(good))
    }))

  it.scoped("a bad PORT is named when --port is absent (by the config's server.port): exit 1, a problem of the environment", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("modelgate-bad-port-")
      // ./config there, empty (gateway.json is optional): a missing directory would be the first problem.
      fs.mkdirSync(path.join(dir, "config"))
      const ran = yield* modelgate(dir, ["serve"], { PORT: "70000" })
      assert.strictEqual(ran.code, 1, JSON.stringify(ran))
      assert.strictEqual(ran.stdout, "")
      assert.match(ran.stderr.trim(), /^modelgate: .*PORT.*70000[^\n]*$/)
    }))
})
