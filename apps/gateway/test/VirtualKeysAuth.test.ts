/**
 * Virtual keys in `Auth` alone: reloads add and revoke keys, a key's `rpm`
 * holds over a sliding minute (TestClock) and across a reload that changes it, `keys new` makes an entry that
 * admits its key, and the configuration rejects what is not a digest.
 */
import type { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { parseIssues } from "@modelgate/core/ConfigFiles"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { AuthConfig, defaultConfig, GatewayConfigData, VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { ConfigProvider, Effect, Either, Logger, Option, Redacted, Schema, SubscriptionRef, TestClock } from "effect"
import { createHash } from "node:crypto"
import * as Auth from "../src/http/Auth.js"
import { describeNewKey, newVirtualKey } from "../src/cli/Keys.js"
import { models } from "./support/Doubles.js"

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex")
const searchKey = "mg-search-team-secret"
const opsKey = "mg-ops-team-secret"
const master = "mk-master-secret"
const teams = [
  { name: "search-team", sha256: sha256(searchKey), agentType: "search" },
  { name: "ops", sha256: sha256(opsKey) }
]
const as = (key: string) => ({ authorization: `Bearer ${key}` })
/** Headers as the server hands them to `Auth` (Node's plain header object). */
const headers = (values: Record<string, string>) => values as unknown as Headers.Headers

/** Auth (with the master key) over a configuration of one key, search-team, limited to `rpm`; `chat` counts a chat request of it. */
const limitedAuth = (rpm: number) =>
  Effect.gen(function* () {
    const configOf = (limit: number) =>
      GatewayConfigData.make({ ...defaultConfig, auth: AuthConfig.make({ virtualKeys: [VirtualKey.make({ ...teams[0]!, rpm: limit })] }) })
    const ref = yield* SubscriptionRef.make(configOf(rpm))
    const config = GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) })
    const auth = yield* Auth.fromConfig.pipe(
      Effect.provideService(GatewayConfig, config),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MODELGATE_MASTER_KEY", master]])))
    )
    const team = headers(as(searchKey))
    return { ref, configOf, auth, chat: () => auth.gateway(team) ?? auth.throttle(team) }
  })

describe("virtual keys: auth", () => {
  it.scoped("a reload adds and revokes keys on the running auth", () =>
    Effect.gen(function* () {
      const configOf = (virtualKeys: typeof teams) =>
        GatewayConfigData.make({ ...defaultConfig, auth: AuthConfig.make({ virtualKeys: virtualKeys.map((k) => VirtualKey.make(k)) }) })
      const ref = yield* SubscriptionRef.make(configOf([teams[0]!]))
      const config = GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) })
      const auth = yield* Auth.fromConfig.pipe(
        Effect.provideService(GatewayConfig, config),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      const admits = (key: string) => auth.gateway(headers(as(key))) === undefined
      assert.isTrue(admits(searchKey))
      assert.isFalse(admits(opsKey))

      yield* SubscriptionRef.set(ref, configOf([teams[1]!]))
      // The auth follows the configuration on its own fiber: let it run until it has the change.
      const until = (done: () => boolean) =>
        Effect.gen(function* () {
          for (let i = 0; i < 1_000 && !done(); i++) yield* Effect.yieldNow()
        })
      yield* until(() => admits(opsKey))
      assert.isTrue(admits(opsKey))
      assert.isFalse(admits(searchKey))
      // The last key gone and no master key: /v1/* is open again.
      yield* SubscriptionRef.set(ref, configOf([]))
      yield* until(() => auth.gateway(headers({})) === undefined)
      assert.isUndefined(auth.gateway(headers({})))
    }))

  it.scoped("a key's rpm bounds its chat requests over a sliding minute, and a reload that keeps its rpm keeps its count", () =>
    Effect.gen(function* () {
      const { ref, configOf, auth, chat } = yield* limitedAuth(2)
      assert.isUndefined(chat())
      yield* TestClock.adjust("20 seconds")
      assert.isUndefined(chat())
      const refused = chat()
      assert.strictEqual(refused?.status, 429)
      assert.strictEqual(refused?.code, "virtual_key_rate_limited")
      assert.strictEqual(refused?.retryAfterMs, 40_000)
      assert.include(refused?.message, "search-team")
      // The master key has no limit of its own.
      for (let i = 0; i < 5; i++) assert.isUndefined(auth.throttle(headers(as(master))))

      // Same rpm after a reload: still refused. The first request leaves the window at 60 s.
      yield* SubscriptionRef.set(ref, configOf(2))
      yield* Effect.repeatN(Effect.yieldNow(), 50)
      assert.strictEqual(chat()?.status, 429)
      yield* TestClock.adjust("40 seconds")
      assert.isUndefined(chat())
      assert.strictEqual(chat()?.retryAfterMs, 20_000)
    }))

  it.scoped("a reload that changes a key's rpm keeps the minute's count: a higher limit adds the difference, a lower one holds at once", () =>
    Effect.gen(function* () {
      const { ref, configOf, auth, chat } = yield* limitedAuth(2)
      const reloadTo = (rpm: number) =>
        Effect.gen(function* () {
          yield* SubscriptionRef.set(ref, configOf(rpm))
          for (let i = 0; i < 1_000 && auth.virtualKeys()[0]?.rpm !== rpm; i++) yield* Effect.yieldNow()
          assert.strictEqual(auth.virtualKeys()[0]?.rpm, rpm)
        })
      assert.isUndefined(chat())
      yield* TestClock.adjust("20 seconds")
      assert.isUndefined(chat())
      assert.strictEqual(chat()?.status, 429)

      // Its whole minute used (2 at 0 s and 20 s): a limit of 3 lets one more in, not 3.
      yield* reloadTo(3)
      assert.strictEqual(auth.virtualKeys()[0]?.lastMinute, 2)
      assert.isUndefined(chat())
      assert.strictEqual(chat()?.retryAfterMs, 40_000)
      assert.strictEqual(auth.virtualKeys()[0]?.lastMinute, 3)

      // Back down to 1: refused at once, until the newest request (20 s) has left the window at 80 s.
      yield* reloadTo(1)
      const refused = chat()
      assert.strictEqual(refused?.status, 429)
      assert.strictEqual(refused?.retryAfterMs, 60_000)
      assert.include(refused?.message, "limit of 1 requests")
      yield* TestClock.adjust("40 seconds")
      assert.strictEqual(chat()?.retryAfterMs, 20_000)
      yield* TestClock.adjust("20 seconds")
      assert.isUndefined(chat())
      assert.strictEqual(chat()?.status, 429)
    }))

  it("keys new prints a key once with the entry that admits it, and the entry never holds the key", () => {
    const made = newVirtualKey("search-team", { agentType: "search" })
    const text = describeNewKey(made)
    assert.include(text, made.key)
    const entry = JSON.parse(text.trim().split("\n").at(-1)!)
    assert.deepStrictEqual(entry, { name: "search-team", sha256: sha256(made.key), agentType: "search" })
    assert.notInclude(JSON.stringify(entry), made.key)
    const auth = Auth.make(Option.none(), [VirtualKey.make(entry)])
    assert.isUndefined(auth.gateway(headers(as(made.key))))
    assert.strictEqual(auth.virtualKeyOf(headers(as(made.key)))?.agentType, "search")
    assert.notStrictEqual(newVirtualKey("search-team").key, made.key)
  })

  it("the configuration rejects a key that is not a SHA-256 and two keys with one name, naming the entry", () => {
    const decode = Schema.decodeUnknownEither(AuthConfig)
    const notHash = decode({ virtualKeys: [{ name: "a", sha256: searchKey }] })
    assert.isTrue(Either.isLeft(notHash))
    if (Either.isLeft(notHash)) {
      // As `modelgate config validate` and a rejected reload report it: the path and the message, not the value.
      const [issue] = parseIssues(notHash.left)
      assert.strictEqual(issue?.path, "virtualKeys[0].sha256")
      assert.include(issue?.message, "64 hex digits")
      assert.notInclude(issue?.message, searchKey)
    }
    const twice = decode({ virtualKeys: [teams[0], { ...teams[1], name: "search-team" }] })
    assert.isTrue(Either.isLeft(twice) && twice.left.message.includes("two virtual keys are named \"search-team\""))
    const sameHash = decode({ virtualKeys: [teams[0], { ...teams[0], name: "other" }] })
    assert.isTrue(Either.isLeft(sameHash) && sameHash.left.message.includes("same sha256"))
    assert.isTrue(Either.isRight(decode({ virtualKeys: teams })))
    for (const rpm of [0, 100_001]) {
      const bad = decode({ virtualKeys: [{ ...teams[0], rpm }] })
      assert.isTrue(Either.isLeft(bad) && parseIssues(bad.left)[0]?.path === "virtualKeys[0].rpm", `rpm ${rpm}`)
    }
  })

  it("a master key alone keeps its old behaviour: no agent type is forced", () => {
    const auth = Auth.make(Option.some(Redacted.make(master)))
    assert.isUndefined(auth.gateway(headers(as(master))))
    assert.isUndefined(auth.virtualKeyOf(headers(as(master))))
    assert.strictEqual(auth.gateway(headers(as(searchKey)))?.status, 401)
  })

  it.scoped("a key listing a model the registry does not have is warned of at start and after a reload, naming the key and the id", () =>
    Effect.gen(function* () {
      const configOf = (models: ReadonlyArray<string>) =>
        GatewayConfigData.make({
          ...defaultConfig,
          auth: AuthConfig.make({ virtualKeys: [VirtualKey.make({ ...teams[0]!, models: models as [string, ...Array<string>] })] })
        })
      const ref = yield* SubscriptionRef.make(configOf(["gpt-test", "gpt-9"]))
      const config = GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) })
      // Only `all` and `changes` are read.
      const listed = yield* SubscriptionRef.make(models)
      const registry = { all: SubscriptionRef.get(listed), changes: listed.changes } as unknown as ModelRegistry["Type"]
      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
      yield* Auth.fromConfig.pipe(
        Effect.provideService(GatewayConfig, config),
        Effect.provideService(ModelRegistry, registry),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MODELGATE_MASTER_KEY", master]]))),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      assert.deepStrictEqual(warnings, ["virtual keys list models the registry does not have, which they can never use: 'gpt-9' (key 'search-team')"])
      yield* SubscriptionRef.set(ref, configOf(["claude-x"]))
      for (let i = 0; i < 1_000 && warnings.length < 2; i++) yield* Effect.yieldNow()
      assert.include(warnings[1], "'claude-x' (key 'search-team')")
      // Every model known: nothing more to say.
      yield* SubscriptionRef.set(ref, configOf(["gpt-test", "claude-test"]))
      for (let i = 0; i < 200; i++) yield* Effect.yieldNow()
      assert.strictEqual(warnings.length, 2)
      // A reload of models.json that removes a model a key lists: warned of once, as at start.
      yield* SubscriptionRef.set(listed, models.filter((m) => m.id !== "claude-test"))
      for (let i = 0; i < 1_000 && warnings.length < 3; i++) yield* Effect.yieldNow()
      assert.strictEqual(warnings[2], "virtual keys list models the registry does not have, which they can never use: 'claude-test' (key 'search-team')")
      // A reload that changes both files, leaving the same unknown model: nothing new to say.
      yield* SubscriptionRef.set(listed, models.filter((m) => m.id !== "claude-test").slice())
      yield* SubscriptionRef.set(ref, configOf(["claude-test", "gpt-test"]))
      for (let i = 0; i < 200; i++) yield* Effect.yieldNow()
      assert.strictEqual(warnings.length, 3, warnings.join("\n"))
    }))
})
