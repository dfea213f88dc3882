/**
 * `validate` (`modelgate config validate`) reads each file of the directory
 * once: its checks and its search for unknown model ids see the same text,
 * even when an editor saves a file while it runs (it read `gateway.json`
 * 2 + 2n times for n overlays, each overlay twice).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { validate } from "@modelgate/core/GatewayConfig"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { rawModel } from "./ModelRegistryFixtures.js"

/** The platform's file system, counting the reads of each file in `reads`. */
const counting = (reads: Map<string, number>) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (inner) => ({
      ...inner,
      readFileString: (file: string, encoding?: string) => {
        reads.set(path.basename(file), (reads.get(path.basename(file)) ?? 0) + 1)
        return inner.readFileString(file, encoding)
      }
    }))
  ).pipe(Layer.provideMerge(NodeContext.layer))

describe("config validate", () => {
  it.scoped("reads gateway.json, models.json and each overlay once", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-validate-once-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      fs.mkdirSync(path.join(dir, "environments"))
      fs.writeFileSync(path.join(dir, "gateway.json"), JSON.stringify({ budgets: { perModel: { "gpt-4o-mni": { daily: 1 } } } }))
      fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify({ models: [rawModel("a")] }))
      fs.writeFileSync(path.join(dir, "environments", "production.json"), JSON.stringify({ server: { port: 9000 } }))
      fs.writeFileSync(path.join(dir, "environments", "staging.json"), JSON.stringify({ budgets: { perModel: { b: { daily: 1 } } } }))
      const reads = new Map<string, number>()
      const problems = yield* validate(dir).pipe(Effect.provide(counting(reads)))
      // Still every problem: the base's unknown model, and the staging overlay's.
      assert.deepStrictEqual(problems.map((p) => `${path.basename(p.file)} ${p.path}`), [
        `gateway.json budgets.perModel["gpt-4o-mni"]`,
        "staging.json budgets.perModel.b"
      ])
      assert.deepStrictEqual(Object.fromEntries(reads), { "gateway.json": 1, "production.json": 1, "staging.json": 1, "models.json": 1 })
    }))
})
