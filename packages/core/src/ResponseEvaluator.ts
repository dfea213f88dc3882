/**
 * ResponseEvaluator: completeness, relevance, coherence of an answer; low
 * quality alerts; switch recommendations the selector reads.
 *
 * When `evaluator.enabled` is false nothing is computed, stored or published.
 * Otherwise every answer a model gave (the gateway's: a complete answer, or a
 * stream that ended with its finish reason and the provider's usage; a cache
 * hit is not scored again) gets a QualityScoreRecord (offered to the RecordSink);
 * a score below `lowQualityThreshold` publishes `LowQualityResponse`, and
 * `switchAfterLowScores` low scores for one model and task type within
 * `switchWindowMs` publish `ModelSwitchRecommended` (once per episode).
 * While recommended, `penalty` is 1 right after the last low score and falls
 * linearly to 0 over `switchWindowMs`; a good score ends the episode at once
 * (penalty 0, low scores forgotten). Low scores are counted within the window,
 * not only consecutive ones; one while a switch is recommended only renews it
 * (the track keeps no more than `switchAfterLowScores` of them). Heuristics:
 * `ResponseEvaluator/Heuristics.ts`.
 * Tracks whose window has passed are dropped (`ResponseEvaluator/Tracks.ts`):
 * task types named by requests do not pile up. A model the registry removes
 * (with `ModelRegistry` in the context) loses its tracks at once: an answer
 * that was in flight is still scored, recorded and announced but opens no
 * track, and the same id added again starts with no low scores and no
 * recommendation.
 *
 * Untraced (`evaluate` and `penalty`: `Effect.fnUntraced` or plain functions, no span or
 * stack capture per call): on the request path, see bench/README.md. The
 * gateway keeps one span per request.
 */
import type { ChatRequest, ChatResponse } from "@modelgate/domain/Chat"
import { LowQualityResponse, ModelSwitchRecommended } from "@modelgate/domain/Events"
import { QualityScoreRecord } from "@modelgate/domain/Records"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { Events } from "./Events.js"
import { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayConfigData } from "./GatewayConfigSchema.js"
import { followRemovals } from "./internal/followRemovals.js"
import { ModelRegistry } from "./ModelRegistry.js"
import { RecordSink } from "./RecordSink.js"
import * as Heuristics from "./ResponseEvaluator/Heuristics.js"
import { noteLow, trackKey, Tracks, windowed } from "./ResponseEvaluator/Tracks.js"

export { Heuristics }

/** What `evaluate` scores: one answer to one request. */
export interface EvaluationInput {
  readonly requestId: string
  /** The request's agent type, carried into its `LowQualityResponse` event (and, when it scores low, a `ModelSwitchRecommended`'s `agentTypes`). */
  readonly agentType?: string | undefined
  readonly model: string
  readonly taskType: string | undefined
  readonly request: ChatRequest
  readonly response: ChatResponse
}

/** Answer quality. */
export class ResponseEvaluator extends Context.Tag("@modelgate/core/ResponseEvaluator")<
  ResponseEvaluator,
  {
    /** None when the evaluator is disabled (nothing computed or stored). */
    readonly evaluate: (input: EvaluationInput) => Effect.Effect<Option.Option<QualityScoreRecord>>
    /**
     * `evaluate` under `config` (the request's, not read again). When the
     * evaluator is disabled it answers `notEvaluated` itself, so the caller
     * may skip its step. Optional: callers fall back to `evaluate`.
     */
    readonly evaluateAt?: (config: GatewayConfigData, input: EvaluationInput) => Effect.Effect<Option.Option<QualityScoreRecord>>
    /** 0 normally; up to 1 while a switch is recommended for `model` on `taskType`. */
    readonly penalty: (model: string, taskType: string | undefined) => Effect.Effect<number>
    /** `penalty` of several models, in order (the selector asks it once per ranking). Optional: callers fall back to `penalty`. */
    readonly penalties?: (models: ReadonlyArray<string>, taskType: string | undefined) => Effect.Effect<ReadonlyArray<number>>
    /** `penalties` at `now` under `config` (the caller's reads, not read again). Optional: callers fall back to `penalties`. */
    readonly penaltiesAt?: (
      config: GatewayConfigData,
      now: number,
      models: ReadonlyArray<string>,
      taskType: string | undefined
    ) => Effect.Effect<ReadonlyArray<number>>
  }
>() {}

/** What `evaluateAt` answers when the evaluator is disabled: nothing computed, stored or published. */
export const notEvaluated: Effect.Effect<Option.Option<QualityScoreRecord>> = Effect.succeed(Option.none())

/** Build the evaluator; it follows the registry's removals (when present) in the current scope. */
export const make = Effect.gen(function* () {
  const gatewayConfig = yield* GatewayConfig
  const events = yield* Events
  const sink = yield* RecordSink
  const tracks = new Tracks()
  const removals = yield* followRemovals(yield* Effect.serviceOption(ModelRegistry), (present) => Effect.sync(() => tracks.retainModels(present)))

  // Disabled (a config flag): nothing computed, one config read (none with `evaluateAt`).
  const evaluateAt = (config: GatewayConfigData, input: EvaluationInput): Effect.Effect<Option.Option<QualityScoreRecord>> =>
    config.evaluator.enabled ? evaluateEnabled(config.evaluator, input) : notEvaluated
  const evaluate = (input: EvaluationInput): Effect.Effect<Option.Option<QualityScoreRecord>> =>
    Effect.flatMap(gatewayConfig.get, (config) => evaluateAt(config, input))

  const evaluateEnabled = Effect.fnUntraced(function* (config: GatewayConfigData["evaluator"], input: EvaluationInput) {
    const now = yield* Clock.currentTimeMillis
    const scores = Heuristics.evaluate(input.request, input.response, config.weights)
    const lowQuality = scores.score < config.lowQualityThreshold
    const taskType = input.taskType === undefined ? {} : { taskType: input.taskType }
    const record = QualityScoreRecord.make({ at: now, requestId: input.requestId, model: input.model, ...taskType, ...scores, lowQuality })
    yield* sink.offer(record)

    const key = trackKey(input.model, input.taskType)
    const known = tracks.get(key)
    const track = known ?? { lows: [], recommendedAt: undefined }
    windowed(track, now, config.switchWindowMs)
    if (!lowQuality) {
      if (track.recommendedAt !== undefined) {
        tracks.delete(key)
        yield* Effect.logInfo(`quality of ${input.model} recovered${input.taskType ? ` for ${input.taskType}` : ""}`)
      } else if (track.lows.length === 0) {
        tracks.delete(key)
      } else {
        tracks.set(key, track, now, config.switchWindowMs)
      }
      return Option.some(record)
    }
    // An answer in flight when the registry removed its model is announced, but opens no track.
    const tracked = known !== undefined || !removals.gone(input.model)
    const recommended = tracked && noteLow(track, now, input.agentType, config.switchAfterLowScores)
      ? ModelSwitchRecommended.make({
        at: now,
        model: input.model,
        ...taskType,
        lowScores: track.lows.length,
        windowMs: config.switchWindowMs,
        agentTypes: [...(track.agentTypes?.keys() ?? [])]
      })
      : undefined
    if (tracked) tracks.set(key, track, now, config.switchWindowMs)
    yield* events.publish(LowQualityResponse.make({ at: now, requestId: input.requestId, agentType: input.agentType, model: input.model, ...taskType, score: scores.score }))
    if (recommended !== undefined) {
      yield* events.publish(recommended)
      yield* Effect.logWarning(`quality of ${input.model} is low: switch recommended`).pipe(
        Effect.annotateLogs({ taskType: input.taskType ?? "(none)", lowScores: recommended.lowScores })
      )
    }
    return Option.some(record)
  })

  const noPenalty = Effect.succeed(0)
  // No recommendation for this model and task type (the usual case): 0 at once, no config or clock read.
  const penalty = (model: string, taskType: string | undefined): Effect.Effect<number> =>
    tracks.get(trackKey(model, taskType))?.recommendedAt === undefined ? noPenalty : penaltyOf(model, taskType)

  const penaltyOf = (model: string, taskType: string | undefined): Effect.Effect<number> =>
    Effect.flatMap(gatewayConfig.get, (config) =>
      Effect.clockWith((clock) => Effect.succeed(penaltyStep(config, clock.unsafeCurrentTimeMillis(), model, taskType))))

  const penalties = (models: ReadonlyArray<string>, taskType: string | undefined): Effect.Effect<ReadonlyArray<number>> =>
    tracks.size === 0 || models.every((model) => tracks.get(trackKey(model, taskType))?.recommendedAt === undefined)
      ? Effect.succeed(models.map(() => 0))
      : Effect.forEach(models, (model) => penalty(model, taskType))

  /** The penalty of a recommendation at `now` (the rule of `penaltyOf`); clears an expired one. */
  const penaltyStep = (config: GatewayConfigData, now: number, model: string, taskType: string | undefined): number => {
    const track = tracks.get(trackKey(model, taskType))
    if (track?.recommendedAt === undefined || !config.evaluator.enabled) return 0
    const elapsed = now - track.recommendedAt
    if (elapsed >= config.evaluator.switchWindowMs) {
      track.recommendedAt = undefined
      return 0
    }
    return Math.min(1, Math.max(0, 1 - elapsed / config.evaluator.switchWindowMs))
  }

  const penaltiesAt = (config: GatewayConfigData, now: number, models: ReadonlyArray<string>, taskType: string | undefined) =>
    Effect.succeed(tracks.size === 0 ? models.map(() => 0) : models.map((model) => penaltyStep(config, now, model, taskType)))

  return ResponseEvaluator.of({ evaluate, evaluateAt, penalty, penalties, penaltiesAt })
})

/**
 * The live evaluator (its `enabled` flag is read from the running config on every call); with
 * `ModelRegistry` in the context it forgets the models the registry removes.
 */
export const layer: Layer.Layer<ResponseEvaluator, never, GatewayConfig | Events | RecordSink> = Layer.scoped(
  ResponseEvaluator,
  make
)

/** An evaluator that never scores and never penalises. */
export const layerDisabled: Layer.Layer<ResponseEvaluator> = Layer.succeed(
  ResponseEvaluator,
  ResponseEvaluator.of({ evaluate: () => Effect.succeed(Option.none()), penalty: () => Effect.succeed(0) })
)
