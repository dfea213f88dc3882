/**
 * The built `modelgate serve` with `MODELGATE_DB` pointing at a file that is
 * not a SQLite database: exit code 1, one line on stderr naming the path and
 * the reason (no "unexpected failure", no stack trace), and the file is left
 * as it was.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Child from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { settles } from "./support/HangDetector.js"
import { bin, ensureBuilt, tempDir } from "./support/ServeProcess.js"

const serveOn = (dir: string, db: string) =>
  settles("modelgate serve on a corrupt database", () =>
    new Promise<{ readonly code: number | null; readonly stderr: string }>((resolve) => {
      const child = Child.spawn(process.execPath, [bin, "serve", "--port", "0"], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: dir, MODELGATE_DB: db },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let stderr = ""
      child.stderr.on("data", (b: Buffer) => void (stderr += b.toString()))
      child.once("close", (code) => resolve({ code, stderr }))
    }))

describe("modelgate serve on a database file that is not SQLite", () => {
  beforeAll(() => ensureBuilt())

  it.scoped("exits 1 with one line naming the file and 'not a database'", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("modelgate-corrupt-db-")
      const db = path.join(dir, "modelgate.db")
      const text = "not a database\n".repeat(100)
      fs.writeFileSync(db, text)
      // An empty config directory: one that does not exist would be reported first.
      fs.mkdirSync(path.join(dir, "config"))
      const ran = yield* serveOn(dir, db)
      const what = JSON.stringify(ran)
      assert.strictEqual(ran.code, 1, what)
      assert.match(ran.stderr.trim(), /^modelgate: [^\n]+$/, what)
      assert.include(ran.stderr, db, what)
      assert.include(ran.stderr, "not a database", what)
      assert.notInclude(ran.stderr, "unexpected failure", what)
      assert.strictEqual(fs.readFileSync(db, "utf8"), text)
    }))
})
