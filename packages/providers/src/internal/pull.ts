/**
 * The primary form of a streamed body inside the adapters: a bare pull (an
 * Effect that gives the next batch, or fails `None` at the end and
 * `Some(error)` on a failure) plus a `close`. The body, its translation into
 * chunks and the adapter's answer are pulls over pulls; the `Stream` an
 * adapter also offers is derived from the same pull (`toStream`), so there is
 * one implementation. A consumer with its own loop (the gateway) pulls it
 * directly: no channel executor, its scope and its runtime switch per stream
 * (~150-250 Effect ops per stream).
 */
import { Channel, Chunk, Effect, Exit, Option, Scope, Stream } from "effect"

/** A bare pull over a stream of `A` and its close (see the module). */
export interface Pull<A, E> {
  /** The next batch; fails `None` at the end, `Some(error)` when the stream fails. Not called after it ended or failed. */
  readonly pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>>
  /** Release what the stream holds; idempotent, called once the consumer is done however it is done. */
  readonly close: Effect.Effect<void>
  /**
   * Whether the stream already holds the failure that ends it: the network
   * read that gave the last batch also carried an error (an error event after
   * the text, the connection broken), so the next pulls read nothing more and
   * the stream fails (after any chunks still owed); a translated pull also
   * when the body's end was read there before the terminal event (it fails
   * then unless the answer is whole: see `translatedPull`). Absent: not known. A
   * synchronous look, for a consumer that can still take back what it was
   * given (the gateway, before the first byte went out: `Provider.ProviderPull`).
   */
  readonly failing?: (() => boolean) | undefined
  /**
   * Whether the body's end is already read behind the last batch (the
   * provider closed the connection normally in the same read): the next
   * pulls wait on no network and end the stream. Absent: not known. A
   * translated pull counts it as `failing` (see `translatedPull`).
   */
  readonly ended?: (() => boolean) | undefined
}

/** The end of a pull. */
export const endOfPull: Effect.Effect<never, Option.Option<never>> = Effect.fail(Option.none())

/**
 * The `Stream` of a pull opened per run, closed by the stream's finalizer.
 * `Stream.repeatEffectChunkOption` is the one pull stage (its end is `None`,
 * as a `Pull` ends).
 */
export const toStream = <A, E>(open: () => Pull<A, E>): Stream.Stream<A, E> =>
  Stream.suspend(() => {
    const opened = open()
    return Stream.ensuring(Stream.repeatEffectChunkOption(opened.pull), opened.close)
  })

/**
 * A `Stream` as a pull (a body that is not a Node readable, or a test's
 * bytes): its channel is pulled with `Channel.toPullIn` in a scope of its own,
 * made at the first pull and closed by `close`.
 */
export const fromStream = <A, E>(stream: Stream.Stream<A, E>): Pull<A, E> => {
  let scope: Scope.CloseableScope | undefined
  let closed = false
  let next: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> | undefined
  const start = Effect.flatMap(Scope.make(), (made) => {
    scope = made
    return Effect.flatMap(Channel.toPullIn(Stream.toChannel(stream), made), (channelPull) => {
      const mapped: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> = Effect.matchEffect(channelPull, {
        onFailure: (e) => Effect.fail(Option.some(e)),
        onSuccess: (batch) => (batch._tag === "Left" ? endOfPull : Effect.succeed(batch.right))
      })
      next = mapped
      return mapped
    })
  })
  const pull = Effect.suspend(() => next ?? start)
  const close = Effect.suspend(() => {
    if (closed) return Effect.void
    closed = true
    return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
  })
  return { pull, close }
}
