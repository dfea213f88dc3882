/**
 * `records.retentionDays` is 0 (keep records forever, the default) or at least
 * `minRetentionDays` (32): a shorter retention would delete the current
 * month's records, which the monthly budgets and their alerts read back. A
 * config with less is rejected at its path with a message that says so.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { validate } from "@modelgate/core/GatewayConfig"
import { defaultConfig, GatewayConfigData, minRetentionDays } from "@modelgate/core/GatewayConfigSchema"
import { Effect, Schema } from "effect"

const problemsWith = (retentionDays: unknown) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-retention-" })
    yield* fs.makeDirectory(p.join(dir, "environments"))
    yield* fs.writeFileString(p.join(dir, "gateway.json"), JSON.stringify({ records: { retentionDays } }))
    yield* fs.writeFileString(p.join(dir, "models.json"), JSON.stringify({ models: [] }))
    return (yield* validate(dir)).map((e) => `${e.path}: ${e.reason}`)
  })

describe("records.retentionDays", () => {
  it("defaults to 0: records are kept forever", () => {
    assert.strictEqual(defaultConfig.records.retentionDays, 0)
    assert.strictEqual(minRetentionDays, 32)
  })

  it.scoped("0, 32 and more are accepted", () =>
    Effect.gen(function* () {
      for (const days of [0, 32, 365]) assert.deepStrictEqual(yield* problemsWith(days), [])
      assert.strictEqual(Schema.decodeUnknownSync(GatewayConfigData)({ records: { retentionDays: 90 } }).records.retentionDays, 90)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("fewer than 32 days, a fraction or a negative number is rejected, saying why", () =>
    Effect.gen(function* () {
      const expected =
        "records.retentionDays: expected 0 (keep records forever) or a whole number of days of at least 32 " +
        "(the monthly budgets and their alerts read the current month's records back)"
      for (const days of [1, 31, 40.5, -1, "90"]) assert.deepStrictEqual(yield* problemsWith(days), [expected], String(days))
    }).pipe(Effect.provide(NodeContext.layer)))
})
