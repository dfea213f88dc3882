/**
 * Stream plumbing: peel the first chunks of a provider stream, up to the
 * first that carries some of the answer (so a failure before the first byte,
 * or before any of the answer, or in the same read as its first text, can
 * still fail over), then deliver it to the client,
 * accounting for the stream when it ends, however it ends.
 */
import type { Annotation, ChatChunk, ChatResponse, Choice, FinishReason, ToolCall, Usage } from "@modelgate/domain/Chat"
import type { ProviderError } from "@modelgate/domain/ProviderError"
import { Cause, Channel, Chunk, type Clock, Duration, Effect, Exit, Fiber, Option, Scope, Stream } from "effect"

/** A provider stream whose first chunk was pulled. */
export interface Peeled<E> {
  readonly first: Chunk.Chunk<ChatChunk>
  /** The rest of the upstream (fails `None` at its end). */
  readonly pull: Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>
  /** Close the upstream (idempotent). */
  readonly close: Effect.Effect<void>
}

/** The end of a pulled channel, as a `Peeled` pull gives it (fails `None`). */
const ended = Effect.fail(Option.none())

/**
 * Whether a batch carries some of the answer: text, a refusal, a citation,
 * a tool call or a finish reason. A role-only opening (Anthropic's
 * `message_start`, OpenAI's first chunk) or a bare usage chunk does not.
 */
export const carriesAnswer = (batch: Chunk.Chunk<ChatChunk>): boolean => {
  for (const chunk of batch) {
    for (const choice of chunk.choices) {
      if (choice.finish_reason !== null) return true
      const delta = choice.delta
      if ((delta.content ?? "") !== "" || (delta.refusal ?? "") !== "" || delta.tool_calls !== undefined || delta.annotations !== undefined) return true
    }
  }
  return false
}

/**
 * What a peel pulled so far, written as it pulls (every chunk of its opening,
 * and of the read that held the stream's failure): what the provider had
 * sent of a stream that fails, or is left, before it reached its client,
 * which the provider bills all the same (`StreamedAnswer.billedBeforeClient`).
 */
export interface PeelProgress {
  pulled: Chunk.Chunk<ChatChunk>
}

/** A stream's pull: a batch of chunks, or `None` at its end. */
type Pull<E> = Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>

/** Whether the stream may already hold its failure behind the batch it last gave (`Pullable.failing`); undefined: never known. */
type Failing = (() => boolean) | undefined

/**
 * How long a stream's opening may be held back: once a first batch came
 * that carries none of the answer (a role-only opening), the peel waits at
 * most `ms` more for one that does (`FailoverConfig.streamHoldMs`).
 */
export interface Hold {
  readonly clock: Clock.Clock
  readonly ms: number
}

/**
 * The chunks peeled off a stream and the pull of the rest: the stream's own,
 * or, when the hold ran out while a pull was under way, one that first takes
 * that pull's batch (`stop` interrupts it when the consumer closes first).
 */
interface Opening<E> {
  readonly first: Chunk.Chunk<ChatChunk>
  readonly pull: Pull<E>
  readonly stop?: Effect.Effect<void> | undefined
}

/**
 * The first batches of `pull` up to and including the first that carries
 * some of the answer (`carriesAnswer`), as one batch: a stream that fails or
 * ends before any of the answer fails the peel (and can fail over) instead of
 * committing the client to an empty role delta and an error event, and so
 * does one whose failure came in the same read as its first text (`sendable`). Fails
 * `None` when the stream ends first. With a `hold`, an opening that carries
 * none of the answer is held back at most `hold.ms`
 * (`heldUntil`): a model that thinks for a minute before its first word
 * still gets its client's connection going, and past proxies' idle timeouts.
 */
const untilAnswer = <E>(
  pull: Pull<E>,
  failing: Failing,
  hold: Hold | undefined,
  progress: PeelProgress | undefined,
  before: Chunk.Chunk<ChatChunk> = Chunk.empty()
): Effect.Effect<Opening<E>, Option.Option<E>> =>
  Effect.flatMap(pull, (batch) => {
    const all = Chunk.isEmpty(before) ? batch : Chunk.appendAll(before, batch)
    if (progress !== undefined) progress.pulled = all
    if (carriesAnswer(batch)) return sendable(all, pull, failing, progress)
    return hold === undefined
      ? untilAnswer(pull, failing, hold, progress, all)
      : heldUntil(pull, failing, progress, all, hold.clock.unsafeCurrentTimeMillis() + hold.ms, hold.clock)
  })

/**
 * The opening `first`, to go out now over `pull`: unless the network read
 * that gave its last batch also held the stream's failure (`failing`: an
 * error event right after the first text, a reset, or the connection closed
 * before the stream's terminal event). Nothing of the stream went out yet
 * then: the rest of that read is taken at once (it waits on no network), and
 * the failure fails the peel, so the request fails over instead of sending a
 * doomed partial answer and an error event; a rest that ends the stream (an
 * answer its adapter finds whole) goes out with it. A healthy stream pays one
 * call (`failing()`), once, and its first text is not held.
 */
const sendable = <E>(
  first: Chunk.Chunk<ChatChunk>,
  pull: Pull<E>,
  failing: Failing,
  progress: PeelProgress | undefined
): Effect.Effect<Opening<E>, Option.Option<E>> =>
  failing === undefined || !failing() ? Effect.succeed({ first, pull }) : Effect.matchEffect(pull, {
    // It ended after all (a whole answer the break lost nothing of): all of it goes out.
    onFailure: (e): Effect.Effect<Opening<E>, Option.Option<E>> => Option.isSome(e) ? Effect.fail(e) : Effect.succeed({ first, pull: ended }),
    onSuccess: (batch) => {
      const all = Chunk.appendAll(first, batch)
      if (progress !== undefined) progress.pulled = all
      return sendable(all, pull, failing, progress)
    }
  })

/**
 * Pull on until a batch carries some of the answer or `deadline` passes,
 * whichever is first; at the deadline the opening so far is the first batch.
 * The pull under way then goes on in its own fiber: the rest of the stream
 * begins with its batch (or its failure), and `stop` interrupts it. Only a
 * stream whose opening carries none of the answer gets here: an answer in the first batch forks nothing.
 */
const heldUntil = <E>(
  pull: Pull<E>,
  failing: Failing,
  progress: PeelProgress | undefined,
  before: Chunk.Chunk<ChatChunk>,
  deadline: number,
  clock: Clock.Clock
): Effect.Effect<Opening<E>, Option.Option<E>> => {
  const left = deadline - clock.unsafeCurrentTimeMillis()
  if (left <= 0) return sendable(before, pull, failing, progress)
  // Forked and watched in one uninterruptible step (an interruption cannot land between the two); the pull itself stays interruptible.
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.forkDaemon(Effect.interruptible(pull)), (fiber) =>
      Effect.onInterrupt(
        restore(Effect.flatMap(
          Effect.timeoutTo(Fiber.join(fiber), { duration: Duration.millis(left), onTimeout: () => undefined, onSuccess: (batch) => batch }),
          (batch): Effect.Effect<Opening<E>, Option.Option<E>> => {
            if (batch === undefined) return Effect.succeed(pendingOpening(before, fiber, pull))
            const all = Chunk.appendAll(before, batch)
            if (progress !== undefined) progress.pulled = all
            return carriesAnswer(batch) ? sendable(all, pull, failing, progress) : heldUntil(pull, failing, progress, all, deadline, clock)
          }
        )),
        () => Fiber.interrupt(fiber)
      ))
  )
}

/** The opening `first`, with the rest of the stream beginning with `pending`'s batch. */
const pendingOpening = <E>(
  first: Chunk.Chunk<ChatChunk>,
  pending: Fiber.RuntimeFiber<Chunk.Chunk<ChatChunk>, Option.Option<E>>,
  pull: Pull<E>
): Opening<E> => {
  let joined = false
  return {
    first,
    pull: Effect.suspend(() => {
      if (joined) return pull
      joined = true
      return Fiber.join(pending)
    }),
    stop: Fiber.interrupt(pending)
  }
}

/**
 * Pull the first chunks of `stream`, up to the first batch that carries some
 * of the answer (`untilAnswer`). Fails with the stream's error if it fails
 * (or ends) before that; otherwise returns those chunks and the pull of the
 * rest. The upstream stays open in its own scope until `close` (see
 * `deliver`): interruption while the first chunk is pulled closes it too.
 *
 * The stream's channel is pulled with `Channel.toPullIn` in the scope given,
 * rather than `Stream.toPull` in `Scope.extend`: no scope service provided,
 * and one step per pull instead of three (`Option` wrapping of the error and
 * an `Either` match): ~30 Effect ops fewer per stream. When the stream is
 * also offered as a bare pull (`open`, see `StreamResult.open`), that pull is
 * used instead (`peelPull`) and `stream` is not run. With `progress`, what
 * the peel pulled is written to it as it pulls (see `PeelProgress`).
 */
export const peelFirst = <E>(
  stream: Stream.Stream<ChatChunk, E>,
  onEmpty: () => E,
  open?: (() => Pullable<E>) | undefined,
  hold?: Hold | undefined,
  progress?: PeelProgress | undefined
): Effect.Effect<Peeled<E>, E> =>
  open !== undefined ? peelPull(open, onEmpty, hold, progress) : Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Scope.make(), (scope) => {
      const close = Scope.close(scope, Exit.void)
      const pulled = Effect.flatMap(Channel.toPullIn(Stream.toChannel(stream), scope), (next) => {
        // Each pull is a batch of chunks (`Right`) or the end (`Left`); its error fails as itself.
        const pull: Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>> = Effect.matchEffect(next, {
          onFailure: (e) => Effect.fail(Option.some(e)),
          onSuccess: (batch) => (batch._tag === "Left" ? ended : Effect.succeed(batch.right))
        })
        return Effect.matchEffect(untilAnswer(pull, undefined, hold, progress), {
          onFailure: (e): Effect.Effect<Peeled<E>, E> => Effect.fail(Option.isSome(e) ? e.value : onEmpty()),
          onSuccess: (opening) => Effect.succeed(peeledFrom(opening, close))
        })
      })
      return Effect.matchCauseEffect(restore(pulled), {
        onFailure: (cause) => Effect.zipRight(close, Effect.failCause(cause)),
        onSuccess: Effect.succeed
      })
    })
  )

/** A stream offered as a bare pull (`StreamResult.open`): fails `None` at its end; `close` is idempotent. */
export interface Pullable<E> {
  readonly pull: Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<E>>
  readonly close: Effect.Effect<void>
  /** Whether the read that gave the last batch also held the stream's failure, or its end (`Provider.ProviderPull.failing`). */
  readonly failing?: (() => boolean) | undefined
}

/**
 * `peelFirst` over a stream offered as a bare pull: the pull and its close
 * are the peeled stream's own (no channel, no scope of ours: ~210 Effect ops
 * fewer per stream than a channel pull over the derived `Stream`, core + OpenAI
 * adapter, bench/micro-stream-gateway.ts). A
 * failure, the end or an interruption before the first chunk closes it.
 */
const peelPull = <E>(
  open: () => Pullable<E>,
  onEmpty: () => E,
  hold: Hold | undefined,
  progress: PeelProgress | undefined
): Effect.Effect<Peeled<E>, E> =>
  Effect.uninterruptibleMask((restore) => {
    const opened = open()
    return Effect.matchCauseEffect(restore(untilAnswer(opened.pull, opened.failing, hold, progress)), {
      onFailure: (cause) =>
        Effect.zipRight(opened.close, Effect.failCause(Cause.map(cause, (e) => (Option.isSome(e) ? e.value : onEmpty())))),
      onSuccess: (opening): Effect.Effect<Peeled<E>, E> => Effect.succeed(peeledFrom(opening, opened.close))
    })
  })

/** The peeled stream of `opening`, closed by `close` (after stopping a pull still under way). */
const peeledFrom = <E>(opening: Opening<E>, close: Effect.Effect<void>): Peeled<E> => ({
  first: opening.first,
  pull: opening.pull,
  close: opening.stop === undefined ? close : Effect.zipRight(opening.stop, close)
})

/** How `deliver` serves a peeled stream. */
export interface DeliverOptions {
  /** The request's clock (read synchronously per pulled batch). */
  readonly clock: Clock.Clock
  /** When the call started (for the time to first token). */
  readonly startedAt: number
  /** The chunk as the client sees it (the gateway's model name and id). */
  readonly rename: (chunk: ChatChunk) => ChatChunk
  /** The consumer started the stream; false when it is too late (abandoned): the stream then fails with `tooLate()`. */
  readonly onStart: () => boolean
  readonly tooLate: () => ProviderError
  /** Called once the stream ends, however it ends, with what it delivered (after the upstream is closed). */
  readonly onEnd: (summary: StreamSummary, exit: Exit.Exit<void, ProviderError>) => Effect.Effect<void>
}

/**
 * A delivered stream pulled directly, one batch at a time, by a consumer that
 * runs its own loop (the HTTP SSE writer): no channel executor of its own over
 * the upstream's. `pull` fails `None` at the end; `close` must be called once
 * when the consumer is done, however it is done, with the outcome (a failure
 * with the stream's error, an interruption, or success when it ended or the
 * consumer stopped reading).
 */
export interface StreamPull {
  readonly pull: Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<ProviderError>>
  readonly close: (exit: Exit.Exit<void, ProviderError>) => Effect.Effect<void>
}

/** The client's side of a delivered stream: read through one or the other, once. */
export interface Delivered {
  readonly chunks: Stream.Stream<ChatChunk, ProviderError>
  /** The same stream as a bare pull (see `StreamPull`). */
  readonly open: () => StreamPull
  /** The stream's cost in USD once settled (see `StreamAnswer.settledCostUsd`). */
  readonly settledCostUsd?: (() => number | undefined) | undefined
  /** The stream's usage once settled with a cost (see `StreamAnswer.settledUsage`). */
  readonly settledUsage?: (() => Usage | undefined) | undefined
}

/**
 * The client's stream over a peeled upstream: the first chunk, then the rest,
 * each renamed and watched (usage, time to first token, the answer of choice
 * 0), the upstream closed and `onEnd` called at the end. Call it as soon as
 * the first chunk is peeled: that chunk is timed at the call. One pull stage and one
 * finalizer, with the watching done synchronously per pulled batch (it was a
 * concat, a map, a tap with a Clock step per chunk, and two finalizers). Also
 * offered as a bare pull (`open`), so a consumer with its own loop pulls the
 * upstream through one pull layer rather than two.
 */
export const delivery = (peeled: Peeled<ProviderError>, options: DeliverOptions): Delivered => {
  const summary = new Summary(options.startedAt)
  let first: Chunk.Chunk<ChatChunk> | undefined = peeled.first
  // The first batch arrived when it was peeled, just before this call: observed at that time, not when
  // the consumer begins to read (its time to first token is the model's, not the consumer's).
  const firstAt = options.clock.unsafeCurrentTimeMillis()
  const step = (chunk: Chunk.Chunk<ChatChunk>, now: number): Chunk.Chunk<ChatChunk> =>
    Chunk.map(chunk, (c) => {
      summary.observe(c, now)
      return options.rename(c)
    })
  const pull = Effect.suspend((): Effect.Effect<Chunk.Chunk<ChatChunk>, Option.Option<ProviderError>> => {
    if (first === undefined) return Effect.map(peeled.pull, (chunk) => step(chunk, options.clock.unsafeCurrentTimeMillis()))
    const chunk = first
    first = undefined
    return options.onStart() ? Effect.succeed(step(chunk, firstAt)) : Effect.fail(Option.some(options.tooLate()))
  })
  const close = (exit: Exit.Exit<void, ProviderError>) => Effect.zipRight(peeled.close, options.onEnd(summary.done(), exit))
  return {
    chunks: Stream.repeatEffectChunkOption(pull).pipe(Stream.ensuringWith((exit) => close(Exit.asVoid(exit)))),
    open: () => ({ pull, close })
  }
}

/** The client's stream over a peeled upstream (`delivery`'s stream). */
export const deliver = (peeled: Peeled<ProviderError>, options: DeliverOptions): Stream.Stream<ChatChunk, ProviderError> =>
  delivery(peeled, options).chunks

/** One choice of a finished stream: its text, refusal, tool calls and finish reason. */
export interface ChoiceSummary {
  readonly index: number
  readonly content: string
  /** The model's refusal text ("" when it refused nothing). */
  readonly refusal: string
  /** Notes on the text (OpenAI's web-search citations), in the order they came. */
  readonly annotations: ReadonlyArray<Annotation>
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: FinishReason | undefined
}

/** What a finished stream delivered, and the answer it carried (for the cache and the evaluator). */
export interface StreamSummary {
  readonly usage: Usage | undefined
  readonly timeToFirstTokenMs: number | undefined
  readonly chunks: number
  readonly created: number | undefined
  /** Every choice the stream carried, by index (one unless the request asked `n` > 1). */
  readonly choices: ReadonlyArray<ChoiceSummary>
}

/**
 * The summary of a stream that delivered only `chunks`, which arrived at
 * `now` (the first batch of an upstream nobody read: its provider began the
 * answer).
 */
export const summaryOf = (chunks: Iterable<ChatChunk>, startedAt: number, now: number): StreamSummary => {
  const summary = new Summary(startedAt)
  for (const chunk of chunks) summary.observe(chunk, now)
  return summary.done()
}

/** A finished choice as an answer's choice. */
const choiceOf = (choice: ChoiceSummary, finishReason: FinishReason): Choice => ({
  index: choice.index,
  message: {
    role: "assistant",
    content: choice.content === "" && choice.toolCalls.length > 0 ? null : choice.content,
    ...(choice.toolCalls.length > 0 ? { tool_calls: choice.toolCalls } : {}),
    refusal: choice.refusal !== "" ? choice.refusal : null,
    ...(choice.annotations.length > 0 ? { annotations: choice.annotations } : {})
  },
  logprobs: null,
  finish_reason: finishReason
})

/** The complete answer a stream carried, when it ended with real usage and a finish reason for every choice. */
export const assemble = (summary: StreamSummary, id: string, model: string): ChatResponse | undefined => {
  const { usage } = summary
  const [first, ...rest] = summary.choices
  if (usage === undefined || usage.estimated === true || first?.finishReason === undefined) return undefined
  const others: Array<Choice> = []
  for (const choice of rest) {
    if (choice.finishReason === undefined) return undefined
    others.push(choiceOf(choice, choice.finishReason))
  }
  return {
    id,
    object: "chat.completion",
    created: summary.created ?? 0,
    model,
    choices: [choiceOf(first, first.finishReason), ...others],
    usage
  }
}

/** One choice as it streams in. */
class ChoiceState {
  content = ""
  refusal = ""
  annotations: Array<Annotation> = []
  finishReason: FinishReason | undefined = undefined
  readonly calls = new Map<number, { id: string; name: string; arguments: string }>()

  constructor(readonly index: number) {}

  done(): ChoiceSummary {
    return {
      index: this.index,
      content: this.content,
      refusal: this.refusal,
      annotations: this.annotations,
      finishReason: this.finishReason,
      toolCalls: [...this.calls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, c]) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } }))
    }
  }
}

/** What a stream delivered so far: usage, time to first token, and each choice's answer. */
class Summary {
  private usage: Usage | undefined
  private timeToFirstTokenMs: number | undefined
  private chunks = 0
  private created: number | undefined
  /** By choice index (a Map: an index comes from the provider, an array would grow to it). */
  private readonly choices = new Map<number, ChoiceState>()

  constructor(private readonly startedAt: number) {}

  observe(chunk: ChatChunk, now: number): void {
    this.chunks++
    this.created ??= chunk.created
    if (chunk.usage != null) this.usage = chunk.usage
    for (const choice of chunk.choices) {
      let state = this.choices.get(choice.index)
      if (state === undefined) this.choices.set(choice.index, state = new ChoiceState(choice.index))
      const delta = choice.delta
      if (this.timeToFirstTokenMs === undefined && ((delta.content ?? "") !== "" || delta.tool_calls !== undefined)) {
        this.timeToFirstTokenMs = now - this.startedAt
      }
      if (delta.content != null) state.content += delta.content
      if (delta.refusal != null) state.refusal += delta.refusal
      if (delta.annotations !== undefined) for (const a of delta.annotations) state.annotations.push(a)
      for (const call of delta.tool_calls ?? []) {
        const known = state.calls.get(call.index) ?? { id: "", name: "", arguments: "" }
        state.calls.set(call.index, {
          id: call.id ?? known.id,
          name: known.name + (call.function?.name ?? ""),
          arguments: known.arguments + (call.function?.arguments ?? "")
        })
      }
      if (choice.finish_reason !== null) state.finishReason = choice.finish_reason
    }
  }

  done(): StreamSummary {
    const choices = [...this.choices.values()].sort((a, b) => a.index - b.index).map((state) => state.done())
    return {
      usage: this.usage,
      timeToFirstTokenMs: this.timeToFirstTokenMs,
      chunks: this.chunks,
      created: this.created,
      choices
    }
  }
}
