/**
 * Interrupt a fiber at its n-th Effect op, deterministically: a supervisor
 * counts the ops the fiber runs (OpSupervision) and sends it an interruption
 * just before its n-th, where the runtime takes it at once if the fiber is
 * interruptible there. Sweeping n over every op of an effect finds a step
 * where an interruption leaves something behind (a client that disconnects,
 * a timeout or a shutdown landing between two steps that had to go together),
 * which a real interruption hits only when it arrives at that instant.
 */
import { Effect, Fiber, FiberId, RuntimeFlags, RuntimeFlagsPatch, Supervisor } from "effect"

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
