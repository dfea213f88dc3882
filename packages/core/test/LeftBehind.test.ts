/**
 * The calls left behind by their clients belong to the gateway's scope: one
 * adopted runs on and is accounted with its own end; when the scope closes
 * first it is interrupted and accounted with that (the scope's close waits
 * for the accounting); one adopted once the scope is closed is interrupted
 * and accounted at once, by its caller.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Scope } from "effect"
import * as LeftBehind from "../src/Gateway/LeftBehind.js"

/** A left-behind set in its own scope, and what the calls it accounted ended with. */
const setUp = Effect.gen(function* () {
  const scope = yield* Scope.make()
  const left = yield* Scope.extend(LeftBehind.make, scope)
  const accounted: Array<Exit.Exit<string>> = []
  const account = (exit: Exit.Exit<string>) => Effect.sync(() => void accounted.push(exit))
  return { scope, left, accounted, account }
})

describe("LeftBehind", () => {
  it.effect("a call adopted runs on to its end, then is accounted with its answer", () =>
    Effect.gen(function* () {
      const { account, accounted, left, scope } = yield* setUp
      const answer = yield* Deferred.make<string>()
      const call = yield* Effect.forkDaemon(Deferred.await(answer))
      yield* left.adopt(call, account)
      assert.deepStrictEqual(accounted, [])
      yield* Deferred.succeed(answer, "the answer")
      yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(accounted, [Exit.succeed("the answer")])
    }))

  it.effect("closing the scope interrupts a call still running and accounts it before the close ends", () =>
    Effect.gen(function* () {
      const { account, accounted, left, scope } = yield* setUp
      const call = yield* Effect.forkDaemon(Effect.never.pipe(Effect.as("never")))
      yield* left.adopt(call, account)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(accounted.length, 1)
      assert.isTrue(Exit.isInterrupted(accounted[0]!))
    }))

  it.effect("a call adopted after the scope closed is interrupted and accounted by its caller", () =>
    Effect.gen(function* () {
      const { account, accounted, left, scope } = yield* setUp
      yield* Scope.close(scope, Exit.void)
      const call = yield* Effect.forkDaemon(Effect.never.pipe(Effect.as("never")))
      yield* left.adopt(call, account)
      assert.strictEqual(accounted.length, 1)
      assert.isTrue(Exit.isInterrupted(accounted[0]!))
    }))
})
