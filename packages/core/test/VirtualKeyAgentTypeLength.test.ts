/**
 * A virtual key's `agentType` replaces the agent type of every request made
 * with it, so it is held to the same limit as the one a request states
 * (`maxLabelLength` characters): a longer one is a configuration problem named
 * by file and path, never a label that outgrows what requests may say.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { validate } from "@modelgate/core/GatewayConfig"
import { maxLabelLength } from "@modelgate/domain/Requirements"
import { ConfigProvider, Effect } from "effect"
import * as path from "node:path"
import { rawModel } from "./ModelRegistryFixtures.js"

const configDir = (files: Record<string, unknown>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const p = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "modelgate-vk-agent-" })
    for (const [name, content] of Object.entries(files)) yield* fs.writeFileString(p.join(dir, name), JSON.stringify(content))
    return dir
  })

const noEnv = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
const key = (agentType: string) => ({ name: "search", sha256: "a".repeat(64), agentType })

describe("a virtual key's agentType", () => {
  it.scoped("longer than a request's agent type may be: rejected, naming gateway.json and the key's path, the value not echoed", () =>
    Effect.gen(function* () {
      const long = "t".repeat(maxLabelLength + 1)
      const dir = yield* configDir({
        "models.json": { models: [rawModel("haiku")] },
        "gateway.json": { auth: { virtualKeys: [key("ok"), key(long)].map((k, i) => ({ ...k, name: `team-${i}`, sha256: String(i).repeat(64) })) } }
      })
      const problems = yield* validate(dir)
      assert.deepStrictEqual(problems.map((e) => `${path.relative(dir, e.file)}:${e.path}`), ["gateway.json:auth.virtualKeys[1].agentType"])
      assert.include(problems[0]!.message, `at most ${maxLabelLength} characters, got ${maxLabelLength + 1}`)
      assert.notInclude(problems[0]!.message, long)
    }).pipe(noEnv, Effect.provide(NodeContext.layer)))

  it.scoped(`of exactly ${maxLabelLength} characters: accepted`, () =>
    Effect.gen(function* () {
      const dir = yield* configDir({
        "models.json": { models: [rawModel("haiku")] },
        "gateway.json": { auth: { virtualKeys: [key("t".repeat(maxLabelLength))] } }
      })
      assert.deepStrictEqual(yield* validate(dir), [])
    }).pipe(noEnv, Effect.provide(NodeContext.layer)))
})
