/**
 * `modelgate costs` and `modelgate models` only read: pointed at a SQLite file
 * that does not exist (a typo in MODELGATE_DB, the wrong working directory)
 * they fail naming the file and create neither it nor its directory (they
 * used to create and migrate an empty database and print $0).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { makeCostsLayer, makeRegistryLayer } from "../src/cli/runtime.js"
import { runOn } from "./support/RunCli.js"

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** `modelgate ...args` on the CLI's real `models` / `costs` layers, with the SQLite file `db`. */
const run = (db: string, ...args: ReadonlyArray<string>) => {
  const config = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-config-"))
  Fs.copyFileSync(Path.join(repoRoot, "config", "models.json"), Path.join(config, "models.json"))
  const source = { app: () => Layer.die("the whole gateway must not be built"), registry: makeRegistryLayer, costs: makeCostsLayer }
  return runOn(source, { MODELGATE_DB: db }, ...args, "--config", config)
}

describe("the read-only commands on a SQLite file", () => {
  for (const command of [["costs"], ["models"]]) {
    it.effect(`${command.join(" ")} on a file that does not exist: fails naming it, creates nothing`, () =>
      Effect.gen(function* () {
        const db = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-db-")), "typo", "modelgate.db")
        const ran = yield* run(db, ...command)
        assert.isTrue(Exit.isFailure(ran.exit), ran.out)
        assert.include(JSON.stringify(ran.exit), db)
        assert.isFalse(Fs.existsSync(Path.dirname(db)), "the database's directory was created")
      }))
  }
})
