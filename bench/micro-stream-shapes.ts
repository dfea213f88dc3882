/**
 * Effect ops of pulling stream shapes through `Stream.toPull` in a scope, by
 * phase (open, each pull, close): what a pull layer over a channel costs.
 *
 *   node --import tsx bench/micro-stream-shapes.ts [toPull|toPullIn]
 */
import { Channel, Chunk, Effect, Exit, Option, Scope, Stream } from "effect"

const ops = () => (globalThis as unknown as { __mg?: { ops: number } }).__mg?.ops ?? 0
const items = [1, 2, 3, 4]

const bare = () => {
  let i = 0
  return Effect.suspend(() => i < 2 ? Effect.succeed(Chunk.of(items[i++]!)) : Effect.fail(Option.none()))
}
type S = Stream.Stream<number, unknown>
const passOn: Channel.Channel<Chunk.Chunk<number>, Chunk.Chunk<number>, unknown, unknown, unknown, unknown> = Channel.readWithCause({
  onInput: (c: Chunk.Chunk<number>) => Channel.zipRight(Channel.write(c), passOn),
  onFailure: (c) => Channel.failCause(c),
  onDone: () => Channel.void
})
const untilFirst: Channel.Channel<Chunk.Chunk<number>, Chunk.Chunk<number>, unknown, unknown, unknown, unknown> = Channel.readWithCause({
  onInput: (c: Chunk.Chunk<number>) => Channel.write(c),
  onFailure: (c) => Channel.failCause(c),
  onDone: () => Channel.void
})
const shapes: Record<string, () => S> = {
  "fromChunk": () => Stream.fromChunk(Chunk.unsafeFromArray(items)),
  "repeatEffectChunkOption x2": () => Stream.repeatEffectChunkOption(bare()),
  "ensuring(repeat x2)": () => Stream.ensuring(Stream.repeatEffectChunkOption(bare()), Effect.void),
  "pipeTo(repeat x2, passOn)": () => Stream.fromChannel(Channel.pipeTo(Stream.toChannel(Stream.repeatEffectChunkOption(bare())), passOn)),
  "pipeTo(ensuring(repeat x2), passOn)": () =>
    Stream.fromChannel(Channel.pipeTo(Stream.toChannel(Stream.ensuring(Stream.repeatEffectChunkOption(bare()), Effect.void)), passOn)),
  "pipeTo(ensuring(repeat x2), untilFirst)": () =>
    Stream.fromChannel(Channel.pipeTo(Stream.toChannel(Stream.ensuring(Stream.repeatEffectChunkOption(bare()), Effect.void)), untilFirst))
}
const n = 3000
const via = process.argv[2] === "toPullIn" ? "toPullIn" : "toPull"
for (const [name, make] of Object.entries(shapes)) {
  const phases = new Map<string, number>()
  for (let i = 0; i < n + 300; i++) {
    let t = ops()
    const lap = (k: string) => {
      const now = ops()
      if (i >= 300) phases.set(k, (phases.get(k) ?? 0) + now - t)
      t = now
    }
    await Effect.runPromise(Effect.gen(function*() {
      t = ops()
      const scope = yield* Scope.make()
      const pull: Effect.Effect<unknown, unknown> = via === "toPull"
        ? yield* Scope.extend(Stream.toPull(make()), scope)
        : Effect.flatMap(yield* Channel.toPullIn(Stream.toChannel(make()), scope), (e) => e._tag === "Left" ? Effect.fail(Option.none()) : Effect.succeed(e.right))
      lap("open")
      let k = 0
      for (;; k++) {
        const next = yield* Effect.exit(pull)
        if (Exit.isFailure(next)) break
      }
      lap(`pulls(${k + 1})`)
      yield* Scope.close(scope, Exit.void)
      lap("close")
    }))
  }
  console.log(name.padEnd(42), [...phases].map(([k, v]) => `${k} ${(v / n).toFixed(0)}`).join(", "))
}
