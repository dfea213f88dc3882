/**
 * The built `modelgate serve` with the SQLite file set by `database.filename`
 * of `gateway.json` (no `MODELGATE_DB`): the database is made where the
 * configuration says, and nothing in the working directory. `serve` used to
 * make `./data` there first (the default of `MODELGATE_DB`), an empty stray
 * directory, and one that stopped the start where the working directory is
 * not writable (a service run from `/`).
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Child from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { until } from "./support/HangDetector.js"
import { bin, ensureBuilt, registry, tempDir } from "./support/ServeProcess.js"

/** `serve` in `cwd` on `config`, without `MODELGATE_DB`; killed with the scope. Resolves once it listens. */
const serveIn = (cwd: string, config: string) =>
  Effect.gen(function* () {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Child.spawn(process.execPath, [bin, "serve", "--port", "0", "--config", config], {
          cwd,
          env: { PATH: process.env.PATH ?? "", HOME: cwd },
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      (c) => Effect.sync(() => void (c.exitCode === null && c.signalCode === null && c.kill("SIGKILL")))
    )
    let out = ""
    child.stdout.on("data", (b: Buffer) => void (out += b.toString()))
    child.stderr.on("data", (b: Buffer) => void (out += b.toString()))
    const tail = () => `; output:\n${out.slice(-2_000)}`
    yield* until(
      "modelgate serve start-up",
      Effect.sync(() => {
        if (out.includes("modelgate listening on")) return true
        if (child.exitCode !== null) return assert.fail(`serve exited (${child.exitCode}) before listening${tail()}`)
        return undefined
      }),
      tail
    )
    return out
  })

describe("serve with the database file named by gateway.json", () => {
  beforeAll(() => ensureBuilt())

  it.scoped("makes it where database.filename says, and no ./data in the working directory", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("modelgate-db-from-config-")
      const cwd = path.join(dir, "work")
      const config = path.join(dir, "config")
      const db = path.join(dir, "state", "gateway.db")
      fs.mkdirSync(cwd)
      fs.mkdirSync(config)
      fs.writeFileSync(path.join(config, "gateway.json"), JSON.stringify({ database: { filename: db } }))
      fs.writeFileSync(path.join(config, "models.json"), JSON.stringify(registry))
      const out = yield* serveIn(cwd, config)
      assert.include(out, `database: SQLite ${db}`)
      assert.isTrue(fs.existsSync(db), "the database was not made where database.filename says")
      assert.deepStrictEqual(fs.readdirSync(cwd), [], "serve made something in its working directory")
    }), 60_000)
})
