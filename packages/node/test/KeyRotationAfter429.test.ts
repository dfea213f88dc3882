/**
 * With two OpenAI keys, a 429 on one key (remaining 0 for 30 s) must
 * not take the model away from requests that can run on the other key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { defaultRequirements } from "@modelgate/domain/Requirements"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { gatewayConfig } from "@modelgate/testkit/FakeStackConfig"
import { ConfigProvider, Effect, Layer, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ask, models, noonUtc } from "./fixture.js"

const keyA = "sk-test-openai"
const keyB = "sk-test-openai-second"

const twoKeyStack = Effect.gen(function* () {
  const openai = yield* FakeOpenAi.make({ apiKeys: [keyA, keyB] })
  const anthropic = yield* FakeAnthropic.make()
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-keys-"))),
    (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
  )
  const gateway = {
    ...gatewayConfig({ openai: openai.baseUrl, anthropic: anthropic.baseUrl }, path.join(dir, "modelgate.db")),
    cache: { enabled: false },
    failover: { backoffBaseMs: 0, backoffCapMs: 0, queueDeadlineMs: 0 }
  }
  fs.writeFileSync(path.join(dir, "gateway.json"), JSON.stringify(gateway))
  fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify(models()))
  const configProvider = ConfigProvider.fromMap(
    new Map([
      ["OPENAI_API_KEY", keyA],
      ["OPENAI_API_KEY_1", keyB],
      ["ANTHROPIC_API_KEY", FakeAnthropic.defaultApiKey]
    ])
  )
  const layer = GatewayLive.layerWith({ configDirectory: dir, watch: false }).pipe(Layer.provide(Layer.setConfigProvider(configProvider)))
  return { openai, anthropic, layer }
})

const chatKeys = (requests: ReadonlyArray<{ readonly path: string; readonly headers: Readonly<Record<string, string>> }>) =>
  requests.filter((r) => r.path.endsWith("/chat/completions")).map((r) => r.headers["authorization"]?.slice("Bearer ".length))

describe("Key rotation after a per-key 429", () => {
  it.scoped("requests keep running on the model with the key that is not limited", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(noonUtc)
      const s = yield* twoKeyStack
      yield* Effect.gen(function* () {
        const gateway = yield* Gateway
        yield* s.openai.script(FakeOpenAi.faults.rateLimited(30))
        // first request: key A answers 429 (remaining 0 for 30 s)
        yield* gateway.complete(ask("first"), defaultRequirements)
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests), [keyA])

        const served: Array<string> = []
        for (let i = 0; i < 6; i++) {
          const answer = yield* gateway.complete(ask(`next ${i}`), defaultRequirements)
          served.push(answer.meta.model)
        }
        // key B has room: every request should stay on gpt-4o-mini, none sent with key A
        assert.deepStrictEqual(served, Array(6).fill("gpt-4o-mini"))
        assert.deepStrictEqual(chatKeys(yield* s.openai.requests).slice(1), Array(6).fill(keyB))
        assert.strictEqual((yield* s.anthropic.requests).filter((r) => r.path.includes("messages")).length, 1)
      }).pipe(Effect.provide(s.layer))
    }), 20_000)
})
