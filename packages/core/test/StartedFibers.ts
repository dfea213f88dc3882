/** A supervisor that counts the fibers started under it (`Effect.supervised`): what a step costs in fibers. */
import { Effect, Supervisor } from "effect"

/** Counts the fibers started under it. */
export class Started extends Supervisor.AbstractSupervisor<void> {
  count = 0
  get value() {
    return Effect.void
  }
  override onStart(): void {
    this.count++
  }
}
