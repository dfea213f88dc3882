/**
 * Reloads of a running `stack` (fixture.ts): rewrite its `gateway.json` or
 * `models.json`, then reload as `POST /admin/reload` does; and a wait, in
 * real time, until requests are waiting in the gateway's queue.
 */
import { GatewayConfig } from "@modelgate/core/GatewayConfig"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import * as FakeStackConfig from "@modelgate/testkit/FakeStackConfig"
import { Chunk, Effect, type Fiber, Option, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { poll } from "./fixture.js"

/** What `stack` returned, as far as a reload needs it. */
export interface Stacked {
  readonly dir: string
  readonly db: string
  readonly openai: { readonly baseUrl: string }
  readonly anthropic: { readonly baseUrl: string }
}

/** Write `gateway.json`: the stack's base (providers at the fakes, its database) with `sections` over it. */
export const writeGateway = (s: Stacked, sections: Record<string, unknown>) =>
  Effect.sync(() =>
    fs.writeFileSync(
      path.join(s.dir, "gateway.json"),
      JSON.stringify({ ...FakeStackConfig.gatewayConfig({ openai: s.openai.baseUrl, anthropic: s.anthropic.baseUrl }, s.db), ...sections })
    )
  )

/** Write `models.json`. */
export const writeModels = (s: Stacked, models: unknown) =>
  Effect.sync(() => fs.writeFileSync(path.join(s.dir, "models.json"), JSON.stringify(models)))

/** Reload both files, as `POST /admin/reload` does. */
export const reload = Effect.gen(function* () {
  yield* (yield* GatewayConfig).reload
  yield* (yield* ModelRegistry).reload
})

/** The wait queue re-ranks every second: a waiting request sleeps on the `TestClock` until then. */
const queuePollMs = 1_000

/**
 * Wait (real time) until each of `fibers` has either ended or is waiting in
 * the queue (a sleep of the queue's poll interval); the ones that ended.
 */
export const settledIntoQueue = <A, E>(fibers: ReadonlyArray<Fiber.Fiber<A, E>>) =>
  Effect.gen(function* () {
    const look = Effect.gen(function* () {
      const now = yield* TestClock.currentTimeMillis
      const waiting = Chunk.toReadonlyArray(yield* TestClock.sleeps()).filter((at) => at - now === queuePollMs).length
      const ended = (yield* Effect.forEach(fibers, (f) => f.poll)).filter(Option.isSome).length
      return { waiting, ended }
    })
    return (yield* poll(look, (l) => l.waiting + l.ended >= fibers.length, 10_000, "requests to wait in the queue or end")).ended
  })
