/**
 * A request waiting in the queue when a reload removes its virtual key is
 * revoked (401 `KeyRevoked`) exactly when the same request sent now would be
 * refused: the core asks the auth, as the reload left it
 * (`RequestOptions.keyRevoked`). A reload that removes every key of a server
 * without a master key opens `/v1/*`, so the waiting request is served, not
 * answered one last 401; with a master key, or with other keys left, it is
 * revoked. The gateway double stands for the core's queue: it waits for the
 * test's reload, then looks (as the queue does at its next look).
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Gateway } from "@modelgate/core/Gateway"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { AuthConfig, defaultConfig, GatewayConfigData, VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { KeyRevoked } from "@modelgate/domain/Errors"
import { ConfigProvider, Context, Deferred, Effect, Fiber, Layer, SubscriptionRef } from "effect"
import { createHash } from "node:crypto"
import * as Http from "node:http"
import * as HttpApp from "../src/HttpApp.js"
import { echoGateway, meta, response, services } from "./support/Doubles.js"

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex")
const teamKey = "mg-queued-team-secret"
const otherKey = "mg-queued-other-secret"
const master = "mk-queued-master-secret"
const team = { name: "team", sha256: sha256(teamKey) }
const other = { name: "other", sha256: sha256(otherKey) }
const configOf = (keys: ReadonlyArray<typeof team>) =>
  GatewayConfigData.make({ ...defaultConfig, auth: AuthConfig.make({ virtualKeys: keys.map((k) => VirtualKey.make(k)) }) })

const post = (port: number, path: string, key: string) =>
  Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method: path === "/v1/models" ? "GET" : "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(path === "/v1/models" ? {} : { body: JSON.stringify({ model: "auto", messages: [{ role: "user", content: "hi" }] }) })
    }).then(async (r) => ({ status: r.status, text: await r.text() })))

/**
 * A server whose keys start as `[team, other?]`; a chat request with the team's key waits until a reload
 * leaves `after`, then is looked at: the status it gets.
 */
const queuedThroughReload = (env: ReadonlyArray<[string, string]>, before: ReadonlyArray<typeof team>, after: ReadonlyArray<typeof team>) =>
  Effect.gen(function* () {
    const ref = yield* SubscriptionRef.make(configOf(before))
    const reloaded = yield* Deferred.make<void>()
    const waiting = yield* Deferred.make<void>()
    const queued = Gateway.of({
      ...echoGateway,
      complete: (_request, _requirements, options) =>
        Effect.gen(function* () {
          yield* Deferred.succeed(waiting, undefined)
          yield* Deferred.await(reloaded)
          if (options?.keyRevoked?.() === true) return yield* new KeyRevoked({ waitedMs: 0 })
          return { response: response("ok"), meta: meta(options?.requestId) }
        })
    })
    const config = Layer.succeed(GatewayConfig, GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) }))
    const context = yield* Layer.build(
      HttpApp.layer.pipe(
        Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
        Layer.provideMerge(config),
        Layer.provideMerge(services(queued)),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(env))))
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const request = yield* Effect.fork(post(port, "/v1/chat/completions", teamKey))
    yield* Deferred.await(waiting)
    yield* SubscriptionRef.set(ref, configOf(after))
    // The auth follows the reload (the same key sent now): then the queue looks.
    const now = after.some((k) => k.name === "team") || (after.length === 0 && env.length === 0) ? 200 : 401
    let status = 0
    for (let i = 0; i < 100 && status !== now; i++) {
      status = (yield* post(port, "/v1/models", teamKey)).status
      if (status !== now) yield* Effect.sleep("10 millis")
    }
    assert.strictEqual(status, now, "the auth followed the reload")
    yield* Deferred.succeed(reloaded, undefined)
    return (yield* Fiber.join(request)).status
  })

describe("a queued request whose virtual key a reload removed", () => {
  it.scopedLive("is served when the reload removed every key of a server without a master key: /v1/* is open", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* queuedThroughReload([], [team], []), 200)
    }), 20_000)

  it.scopedLive("is revoked when other keys are left", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* queuedThroughReload([], [team, other], [other]), 401)
    }), 20_000)

  it.scopedLive("is revoked when every key is removed but a master key guards /v1/*", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* queuedThroughReload([["MODELGATE_MASTER_KEY", master]], [team], []), 401)
    }), 20_000)

  it.scopedLive("is served when the reload kept its key", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* queuedThroughReload([], [team, other], [team]), 200)
    }), 20_000)
})
