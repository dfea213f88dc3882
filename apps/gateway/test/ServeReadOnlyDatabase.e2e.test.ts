/**
 * The built `modelgate serve` on a SQLite file it may read but not write (a
 * file left read-only, or owned by another user, in a directory it may
 * write): SQLite opens such a file read-only without a word, so the gateway
 * used to start and serve while every record write failed, its cost records
 * waiting in memory until the queue was full and then holding every request.
 * It must refuse to start instead: exit code 1, one line naming the file and
 * that it cannot be written. `modelgate costs` only reads: it still reads it.
 *
 * Run as root (who writes any file), the commands run as `nobody`; where
 * `nobody` cannot read this checkout (a clone under a private home), there is
 * no user who cannot write the file and the e2e cases do not run: the check
 * itself is tested on every machine in `packages/sql/test/SqliteReadOnly.test.ts`.
 */
import { NodeContext } from "@effect/platform-node"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Child from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { settles } from "./support/HangDetector.js"
import { bin, ensureBuilt, registry, tempDir } from "./support/ServeProcess.js"

/** Whoever cannot write a read-only file: this user, or `nobody` when this is root. */
const asWhom = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}

/** Whether `asWhom` can read this checkout (root's `nobody` cannot when it is private); the bin may not be built yet. */
const canRun =
  Child.spawnSync(process.execPath, ["-e", `require("node:fs").accessSync(${JSON.stringify(path.join(path.dirname(bin), "..", "package.json"))})`], asWhom)
    .status === 0

/** Run `modelgate ...args` in `dir` until it exits, or until it listens (then it is stopped): its exit code, whether it listened, its output. */
const modelgate = (dir: string, db: string, args: ReadonlyArray<string>) =>
  settles(`modelgate ${args.join(" ")} on a read-only database`, () =>
    new Promise<{ readonly code: number | null; readonly listened: boolean; readonly output: string }>((resolve) => {
      const child = Child.spawn(process.execPath, [bin, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: dir, MODELGATE_DB: db },
        stdio: ["ignore", "pipe", "pipe"],
        ...asWhom
      })
      let output = ""
      let listened = false
      const read = (b: Buffer) => {
        output += b.toString()
        if (!listened && output.includes("modelgate listening on")) {
          listened = true
          child.kill("SIGKILL")
        }
      }
      child.stdout.on("data", read)
      child.stderr.on("data", read)
      child.once("close", (code) => resolve({ code, listened, output }))
    }))

/**
 * A database a gateway created and migrated before (so opening it needs no
 * write), now read-only, in a directory the commands may write (its -wal and
 * -shm files can be created), with a config directory beside it.
 */
const readOnlyDatabase = Effect.gen(function* () {
  const dir = yield* tempDir("modelgate-readonly-db-")
  const data = path.join(dir, "data")
  const db = path.join(data, "modelgate.db")
  yield* Effect.scoped(Layer.build(Sqlite.layer(db))).pipe(Effect.provide(NodeContext.layer), Effect.orDie)
  const config = path.join(dir, "config")
  fs.mkdirSync(config)
  fs.writeFileSync(path.join(config, "models.json"), JSON.stringify(registry))
  fs.writeFileSync(path.join(config, "gateway.json"), JSON.stringify({ healthCheck: { enabled: false } }))
  fs.chmodSync(dir, 0o755)
  fs.chmodSync(config, 0o755)
  fs.chmodSync(data, 0o777)
  fs.chmodSync(db, 0o444)
  return { dir, db }
})

describe.runIf(canRun)("modelgate on a database file it cannot write", () => {
  beforeAll(() => ensureBuilt())

  it.scoped("serve exits 1 with one line naming the file and that it is read-only; never listens", () =>
    Effect.gen(function* () {
      const { db, dir } = yield* readOnlyDatabase
      const ran = yield* modelgate(dir, db, ["serve", "--port", "0"])
      const what = JSON.stringify(ran)
      assert.isFalse(ran.listened, `served on a database it cannot write: ${what}`)
      assert.strictEqual(ran.code, 1, what)
      const line = ran.output.split("\n").find((l) => l.startsWith("modelgate: "))
      assert.isDefined(line, what)
      assert.include(line, db, what)
      assert.include(line, "read-only", what)
      assert.notInclude(ran.output, "unexpected failure", what)
    }))

  it.scoped("costs, which only reads, reads it", () =>
    Effect.gen(function* () {
      const { db, dir } = yield* readOnlyDatabase
      const ran = yield* modelgate(dir, db, ["costs"])
      const what = JSON.stringify(ran)
      assert.strictEqual(ran.code, 0, what)
      assert.include(ran.output, "no records", what)
    }))
})
