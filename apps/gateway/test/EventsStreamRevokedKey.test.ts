/**
 * A virtual key's `GET /v1/events` follows reloads as its other requests do:
 * once a reload revokes the key, or binds it to another agent type, its open
 * event stream ends (at its next event or keep-alive, within 15 s), so a
 * revoked key reads no more events and a re-bound key reconnects with its new scope.
 * Before, a stream let in once ran on for as long as the client kept it open,
 * revoked or not, scoped to the agent type it started with.
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Events } from "@modelgate/core/Events"
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { AuthConfig, defaultConfig, GatewayConfigData, VirtualKey } from "@modelgate/core/GatewayConfigSchema"
import { BudgetExceededEvent } from "@modelgate/domain/Events"
import { ConfigProvider, Context, Effect, Layer, SubscriptionRef, TestClock } from "effect"
import { createHash } from "node:crypto"
import * as Http from "node:http"
import * as HttpApp from "../src/HttpApp.js"
import { echoGateway, services } from "./support/Doubles.js"

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex")
const teamKey = "mg-events-team-secret"
const otherKey = "mg-events-other-secret"
const team = { name: "team", sha256: sha256(teamKey), agentType: "search" }
const other = { name: "other", sha256: sha256(otherKey), agentType: "ops" }
const configOf = (keys: ReadonlyArray<typeof team>) =>
  GatewayConfigData.make({ ...defaultConfig, auth: AuthConfig.make({ virtualKeys: keys.map((k) => VirtualKey.make(k)) }) })

/** The app on a real socket, its configuration a `SubscriptionRef` the test sets (a reload), on the test's clock. */
const serve = (initial: ReadonlyArray<typeof team>) =>
  Effect.gen(function* () {
    const ref = yield* SubscriptionRef.make(configOf(initial))
    const config = Layer.succeed(GatewayConfig, GatewayConfig.of({ get: SubscriptionRef.get(ref), changes: ref.changes, reload: SubscriptionRef.get(ref) }))
    const context = yield* Layer.build(
      HttpApp.layer.pipe(
        Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
        Layer.provideMerge(config),
        Layer.provideMerge(services(echoGateway)),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return { ref, port, events: Context.get(context, Events) }
  })

/** An open `GET /v1/events` with `key`: what it received so far, and whether the server ended it. */
const listen = (port: number, key: string) =>
  Effect.gen(function* () {
    const state = { text: "", ended: false, status: 0 }
    const controller = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
    const response = yield* Effect.promise(() =>
      fetch(`http://127.0.0.1:${port}/v1/events`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal }))
    state.status = response.status
    const decoder = new TextDecoder()
    void (async () => {
      try {
        for await (const part of response.body!) state.text += decoder.decode(part, { stream: true })
        state.ended = true
      } catch {
        // aborted by the finalizer
      }
    })()
    return state
  })

/** Let the server and the client's socket work (real I/O) until `done`, or give up after ~2 s. */
const until = (done: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !done(); i++) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
  })

/** Wait until the running auth has a reload that revoked `key` (its requests answered 401). */
const applied = (port: number, key: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) {
      const status = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status))
      if (status === 401) return
    }
    assert.fail("the reload never revoked the key")
  })

describe("/v1/events of a virtual key across reloads", () => {
  it.scoped("ends once a reload revokes the key, and once it binds the key to another agent type", () =>
    Effect.gen(function* () {
      const { port, ref } = yield* serve([team, other])
      const revoked = yield* listen(port, teamKey)
      const rebound = yield* listen(port, otherKey)
      assert.strictEqual(revoked.status, 200)
      yield* until(() => revoked.text.includes(": connected") && rebound.text.includes(": connected"))

      // A keep-alive with the keys unchanged: both streams go on.
      yield* TestClock.adjust("15 seconds")
      yield* until(() => revoked.text.includes(": keep-alive") && rebound.text.includes(": keep-alive"))
      assert.isFalse(revoked.ended || rebound.ended)

      // The reload: `team` revoked, `other` now bound to another agent type.
      yield* SubscriptionRef.set(ref, configOf([{ ...other, agentType: "billing" }]))
      yield* applied(port, teamKey)
      yield* TestClock.adjust("15 seconds")
      yield* until(() => revoked.ended && rebound.ended)
      assert.isTrue(revoked.ended, "the revoked key's stream ended")
      assert.isTrue(rebound.ended, "the re-bound key's stream ended")
      assert.strictEqual(revoked.text.split(": keep-alive").length - 1, 1, "no keep-alive after the revocation")
    }), { timeout: 15_000 })

  it.scoped("a revoked key is sent no event published after the reload, even before its next keep-alive", () =>
    Effect.gen(function* () {
      const { events, port, ref } = yield* serve([team, other])
      const revoked = yield* listen(port, teamKey)
      const kept = yield* listen(port, otherKey)
      yield* until(() => revoked.text.includes(": connected") && kept.text.includes(": connected"))
      const exceeded = (budget: string) => new BudgetExceededEvent({ at: 1, budget, period: "daily", spentUsd: 2, limitUsd: 1 })
      yield* events.publish(exceeded("agentType:search"))
      yield* until(() => revoked.text.includes("agentType:search"))
      assert.include(revoked.text, "agentType:search", "the team's own event, while its key is in force")

      yield* SubscriptionRef.set(ref, configOf([other]))
      yield* applied(port, teamKey)
      // An event every team sees, published after the revocation and before any keep-alive.
      yield* events.publish(exceeded("global"))
      yield* until(() => kept.text.includes("global") && (revoked.ended || revoked.text.includes("global")))
      assert.include(kept.text, "global")
      assert.notInclude(revoked.text, "global", "a revoked key read an event published after its revocation")
      assert.isTrue(revoked.ended, "the revoked key's stream ended at that event")
      assert.isFalse(kept.ended)
    }), { timeout: 15_000 })

  it.scoped("a key kept as it was keeps its stream across reloads", () =>
    Effect.gen(function* () {
      const { port, ref } = yield* serve([team])
      const kept = yield* listen(port, teamKey)
      yield* until(() => kept.text.includes(": connected"))
      yield* SubscriptionRef.set(ref, configOf([team, other]))
      yield* TestClock.adjust("30 seconds")
      yield* until(() => kept.text.split(": keep-alive").length - 1 === 2)
      assert.strictEqual(kept.text.split(": keep-alive").length - 1, 2)
      assert.isFalse(kept.ended)
    }), { timeout: 15_000 })
})
