/**
 * Calls left behind: a complete call whose client left once the provider had
 * it runs on to its end (the provider generates and bills the whole answer
 * anyway; a retry it would need is not sent: `CallContext.abandoned`), and
 * its accounting runs when it ends. These fibers belong to the
 * gateway's scope (a `FiberSet` of it): when the scope closes, each is
 * interrupted, its call with it, and accounted as an interrupted call. The
 * set is touched only when a client leaves, never on the common path.
 */
import { Effect, Exit, Fiber, FiberSet } from "effect"

/** Adopts the calls whose clients left; built in the gateway's scope. */
export interface LeftBehind {
  /**
   * Account `call` with `account` (uninterruptibly) once it ends, in a fiber
   * of the gateway's scope; its caller may go. Called inside the step that
   * runs it. When the gateway's scope is already closed, or closes first,
   * the call is interrupted and accounted with its interrupted exit.
   */
  readonly adopt: <A, E>(call: Fiber.RuntimeFiber<A, E>, account: (exit: Exit.Exit<A, E>) => Effect.Effect<unknown>) => Effect.Effect<void>
}

/** The left-behind calls of one gateway, owned by the current scope. */
export const make = Effect.gen(function* () {
  const set = yield* FiberSet.make()
  // Released before the set (finalizers run in reverse): from then on a call is accounted by its caller.
  let closed = false
  yield* Effect.addFinalizer(() => Effect.sync(() => (closed = true)))
  const adopt: LeftBehind["adopt"] = (call, account) => {
    if (closed) return Effect.asVoid(Effect.uninterruptible(Effect.flatMap(Fiber.interrupt(call), account)))
    // Its end, or (the gateway closing: this fiber interrupted) the exit of its interruption.
    const ended = Effect.catchAllCause(Effect.interruptible(Fiber.await(call)), () => Fiber.interrupt(call))
    // Forked uninterruptible (a fiber starts with its parent's flags): interrupted before its first step, it
    // still accounts the call. Added at once: a set that closed meanwhile interrupts it, and it accounts then.
    return Effect.map(
      Effect.uninterruptible(Effect.forkDaemon(Effect.flatMap(ended, account))),
      (fiber) => FiberSet.unsafeAdd(set, fiber)
    )
  }
  return { adopt } satisfies LeftBehind
})
