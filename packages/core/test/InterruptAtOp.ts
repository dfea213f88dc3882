/**
 * Interrupt a fiber at its n-th Effect op, deterministically: a supervisor
 * counts the ops the fiber runs (OpSupervision) and sends it an interruption
 * just before its n-th, where the runtime takes it at once if the fiber is
 * interruptible there. Sweeping n over every op of an effect finds a step
 * where an interruption leaves something behind (a client that disconnects,
 * a timeout or a shutdown landing between two steps that had to go together),
 * which a real interruption hits only when it arrives at that instant.
 */
import { type Duration, Effect, Exit, Fiber, FiberId, RuntimeFlags, RuntimeFlagsPatch, Supervisor, TestClock } from "effect"

class InterruptAt extends Supervisor.AbstractSupervisor<void> {
  /** Ops the target ran so far. */
  count = 0
  target: Fiber.RuntimeFiber<unknown, unknown> | undefined
  constructor(readonly n: number) {
    super()
  }
  get value() {
    return Effect.void
  }
  override onEffect<A, E>(fiber: Fiber.RuntimeFiber<A, E>): void {
    if (fiber !== this.target) return
    if (++this.count === this.n) fiber.unsafeInterruptAsFork(FiberId.none)
  }
}

/**
 * Fork `effect` to be interrupted at its `n`-th op, and let it run until it
 * ends or suspends. Answers the fiber and whether it got to its `n`-th op
 * (false: it ended or suspended before, so a larger `n` tries nothing new).
 */
export const forkInterruptedAt = <A, E, R>(effect: Effect.Effect<A, E, R>, n: number) =>
  Effect.gen(function* () {
    const supervisor = new InterruptAt(n)
    const fiber = yield* Effect.fork(
      Effect.withRuntimeFlagsPatch(Effect.supervised(effect, supervisor), RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
    )
    supervisor.target = fiber
    yield* Effect.yieldNow()
    return { fiber, reached: supervisor.count >= n }
  })

/**
 * Interrupt a fresh `request(n)` at its n-th op, for n = 1, 2, ... up to the
 * step where it waits uninterruptibly for `wait` of TestClock (a slow
 * reservation: it is not cut short, so the sweep ends there) or ends first.
 * After each, `intact` tells whether the interrupted request left everything
 * as it found it. Answers the steps at which it did not (the sweep stops at
 * the first such), and whether the sweep went as far as the wait.
 */
export const sweepInterruptions = <A, E, R, R2>(
  request: (n: number) => Effect.Effect<A, E, R>,
  intact: Effect.Effect<boolean, never, R2>,
  wait: Duration.DurationInput
) =>
  Effect.gen(function* () {
    const left: Array<number> = []
    for (let n = 1; ; n++) {
      const { fiber, reached } = yield* forkInterruptedAt(request(n), n)
      yield* Fiber.interruptFork(fiber)
      yield* Effect.repeatN(Effect.yieldNow(), 200)
      const waiting = fiber.unsafePoll() === null
      if (waiting) yield* TestClock.adjust(wait)
      const exit = yield* Fiber.await(fiber)
      if (!Exit.isInterrupted(exit)) return yield* Effect.dieMessage(`step ${n}: the request was not interrupted`)
      if (!(yield* intact)) left.push(n)
      if (!reached || waiting || left.length > 0) return { left, reachedWait: waiting }
    }
  })
