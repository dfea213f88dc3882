/**
 * The `modelgate` commands, run in-process with the service layer swapped for
 * doubles and the console captured.
 */
import { assert, describe, it } from "@effect/vitest"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Effect, Exit, Schema } from "effect"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { models, seen } from "./support/Doubles.js"
import { run, runWith, writeConfig } from "./support/RunCli.js"

describe("cli", () => {
  it.effect("models prints the registry as a table", () =>
    Effect.gen(function* () {
      const { exit, out, dir } = yield* run("models")
      assert.isTrue(Exit.isSuccess(exit))
      assert.match(out, /^MODEL\s+PROVIDER/)
      assert.match(out, /gpt-test\s+openai\s+yes/)
      assert.include(out, "2 model(s)")
      // Only `serve` creates the database (CliReadsExistingDatabase.test.ts).
      assert.isFalse(Fs.existsSync(Path.join(dir, "data")), "a read-only command created the database directory")
    }))

  it.effect("costs groups over the range it is given", () =>
    Effect.gen(function* () {
      const { exit, out } = yield* run("costs", "--since", "7d", "--by", "provider")
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(seen.costs?.groupBy, "provider")
      assert.isNumber(seen.costs?.from)
      // TOKENS, then its CACHE READS, CACHE WRITES and REASONING (parts of it), then COST.
      assert.match(out, /gpt-test\s+2\s+1\s+14\s+0\s+0\s+3\s+\$0\.0000015\n/)
      assert.include(out, "total since")
      const bad = yield* run("costs", "--since", "last tuesday")
      assert.isTrue(Exit.isFailure(bad.exit))
    }))

  it.effect("keys new prints a key and an entry that config validate accepts; an empty name fails", () =>
    Effect.gen(function* () {
      const { exit, out } = yield* run("keys", "new", "--name", "search-team", "--agent-type", "search", "--rpm", "120", "--model", "gpt-test", "--model", "claude-test")
      assert.isTrue(Exit.isSuccess(exit))
      const key = /^\s+(mg-\S+)$/m.exec(out)?.[1]
      assert.isDefined(key)
      const entry = JSON.parse(out.trim().split("\n").at(-1)!)
      assert.deepStrictEqual(entry, { name: "search-team", sha256: createHash("sha256").update(key!).digest("hex"), agentType: "search", rpm: 120, models: ["gpt-test", "claude-test"] })
      // The models it names are in models.json: validate refuses a key naming a model the file lacks (a typo).
      const dir = writeConfig({ "gateway.json": { auth: { virtualKeys: [entry] } }, "models.json": { models: models.map((m) => Schema.encodeSync(ModelMetadata)(m)) } })
      assert.isTrue(Exit.isSuccess((yield* run("config", "validate", dir)).exit))
      const empty = yield* run("keys", "new", "--name", " ")
      assert.isTrue(Exit.isFailure(empty.exit))
      const noRate = yield* run("keys", "new", "--name", "x", "--rpm", "0")
      assert.isTrue(Exit.isFailure(noRate.exit))
    }))

  it.effect("config validate lists every problem and fails", () =>
    Effect.gen(function* () {
      const dir = writeConfig({
        "gateway.json": { server: { port: "eighty" }, cache: { ttlMs: -1 } },
        "models.json": { models: [{ id: "x" }] }
      })
      const { exit, err } = yield* run("config", "validate", dir)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(err, "server.port")
      assert.include(err, "cache.ttlMs")
      assert.include(err, "models.json")
    }))

  it.effect("config validate accepts a valid directory", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "gateway.json": {}, "models.json": { models: [] } })
      const { exit, out } = yield* run("config", "validate", dir)
      assert.isTrue(Exit.isSuccess(exit), JSON.stringify(exit))
      assert.include(out, "configuration is valid")
    }))

  it.effect("config validate fails on a missing or empty directory, naming what is missing", () =>
    Effect.gen(function* () {
      const empty = writeConfig({})
      const inEmpty = yield* run("config", "validate", empty)
      assert.isTrue(Exit.isFailure(inEmpty.exit))
      assert.notInclude(inEmpty.out, "configuration is valid")
      assert.include(inEmpty.err, `${Path.join(empty, "models.json")}: file not found`)
      const missing = Path.join(empty, "nope")
      const inMissing = yield* run("config", "validate", missing)
      assert.isTrue(Exit.isFailure(inMissing.exit))
      assert.include(inMissing.err, `${missing}: directory not found`)
      assert.include(inMissing.err, `${Path.join(missing, "models.json")}: file not found`)
    }))

  it.effect("config validate without DIR reads MODELGATE_CONFIG_DIR, else ./config", () =>
    Effect.gen(function* () {
      const dir = writeConfig({ "gateway.json": {}, "models.json": { models: [] } })
      const fromEnv = yield* runWith({ MODELGATE_CONFIG_DIR: dir }, "config", "validate")
      assert.isTrue(Exit.isSuccess(fromEnv.exit), fromEnv.err)
      assert.include(fromEnv.out, `${dir}: configuration is valid`)
      const byDefault = yield* run("config", "validate")
      assert.notInclude(byDefault.err, "Missing data")
      assert.include(`${byDefault.out}\n${byDefault.err}\n${JSON.stringify(byDefault.exit)}`, "./config")
    }))
})
