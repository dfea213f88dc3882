/**
 * Stream plumbing: peel the first chunk of a provider stream (so a failure
 * before the first byte can still fail over), and account for the stream
 * when it ends, however it ends.
 */
import type { ChatChunk, Usage } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Chunk, Clock, Effect, Exit, Option, Ref, Scope, Stream } from "effect"

/**
 * Pull the first chunk of `stream`. Fails with the stream's error if it fails
 * (or ends) before producing one; otherwise returns an equivalent stream that
 * starts with that chunk. The upstream stays open in its own scope until the
 * returned stream ends or is interrupted (or `close` is called): interruption
 * while the first chunk is pulled closes it too.
 */
export const peelFirst = <E>(stream: Stream.Stream<ChatChunk, E>, onEmpty: () => E) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const close = Scope.close(scope, Exit.void)
      const first = yield* restore(
        Effect.gen(function* () {
          const pull = yield* Stream.toPull(stream).pipe(Scope.extend(scope))
          const chunk = yield* pull.pipe(
            Effect.catchAll((e) => Option.match(e, { onNone: () => Effect.fail(onEmpty()), onSome: (err) => Effect.fail(err) }))
          )
          if (Chunk.isEmpty(chunk)) return yield* Effect.fail(onEmpty())
          return { chunk, pull }
        })
      ).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : close)))
      const rest = Stream.repeatEffectChunkOption(first.pull)
      return {
        stream: Stream.concat(Stream.fromChunk(first.chunk), rest).pipe(Stream.ensuring(close)),
        /** Close the upstream without running the stream (it was abandoned). */
        close
      }
    })
  )

/**
 * Give up on a stream nobody started: if `stream` has not been run within
 * `afterMs` (the client left between the answer's headers and its body), run
 * `onAbandon` (close the upstream, give back what was held). A daemon fiber
 * waits; it does nothing once the stream has started.
 */
export const abandonUnlessStarted = <A, E>(stream: Stream.Stream<A, E>, afterMs: number, onAbandon: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const started = yield* Ref.make(false)
    yield* Effect.sleep(afterMs).pipe(
      Effect.zipRight(Ref.get(started)),
      Effect.flatMap((wasStarted) => (wasStarted ? Effect.void : onAbandon)),
      Effect.forkDaemon
    )
    return Stream.unwrap(Effect.as(Ref.set(started, true), stream))
  })

/** What a finished stream delivered. */
export interface StreamSummary {
  readonly usage: Usage | undefined
  readonly timeToFirstTokenMs: number | undefined
  readonly chunks: number
}

/**
 * Watch a stream: remember its usage chunk and time to first token, and call
 * `onEnd` exactly once with how it ended (success, failure, or interruption
 * by the consumer).
 */
export const watch = (
  stream: Stream.Stream<ChatChunk, ProviderError>,
  startedAt: number,
  onEnd: (summary: StreamSummary, exit: Exit.Exit<void, ProviderError>) => Effect.Effect<void>
): Stream.Stream<ChatChunk, ProviderError> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const state = yield* Ref.make<StreamSummary>({ usage: undefined, timeToFirstTokenMs: undefined, chunks: 0 })
      const observe = (chunk: ChatChunk) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Ref.update(state, (s) => ({
            usage: chunk.usage ?? s.usage,
            timeToFirstTokenMs:
              s.timeToFirstTokenMs === undefined && chunk.choices.some((c) => (c.delta.content ?? "") !== "" || c.delta.tool_calls !== undefined)
                ? now - startedAt
                : s.timeToFirstTokenMs,
            chunks: s.chunks + 1
          }))
        )
      return stream.pipe(
        Stream.tap(observe),
        Stream.ensuringWith((exit) =>
          Effect.flatMap(Ref.get(state), (summary) => onEnd(summary, Exit.asVoid(exit)))
        )
      )
    })
  )
