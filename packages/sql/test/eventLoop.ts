import { Effect } from "effect"

/**
 * Run `effect` and count how many times the event loop turned meanwhile
 * (a `setImmediate` chain): a write that blocks this thread lets it turn at
 * most once or twice; a write on another thread lets it turn freely.
 */
export const loopTurnsDuring = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<[A, number], E, R> =>
  Effect.suspend(() => {
    let turns = 0
    let running = true
    const turn = () => {
      turns++
      if (running) setImmediate(turn)
    }
    setImmediate(turn)
    return effect.pipe(
      Effect.ensuring(Effect.sync(() => void (running = false))),
      Effect.map((a): [A, number] => [a, turns])
    )
  })
