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
 * returned stream ends or is interrupted.
 */
export const peelFirst = <E>(stream: Stream.Stream<ChatChunk, E>, onEmpty: () => E) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const pull = yield* Stream.toPull(stream).pipe(Scope.extend(scope))
    const first = yield* pull.pipe(
      Effect.catchAll((e) =>
        Option.match(e, { onNone: () => Effect.fail(onEmpty()), onSome: (err) => Effect.fail(err) })
      ),
      Effect.tapErrorCause(() => Scope.close(scope, Exit.void))
    )
    if (Chunk.isEmpty(first)) {
      yield* Scope.close(scope, Exit.void)
      return yield* Effect.fail(onEmpty())
    }
    const rest = Stream.repeatEffectChunkOption(pull)
    return Stream.concat(Stream.fromChunk(first), rest).pipe(Stream.ensuring(Scope.close(scope, Exit.void)))
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
