/**
 * ModelOptimizer: an optional port a host provides to watch and steer routing.
 *
 * The gateway never provides one itself. When a host adds a layer for this tag,
 * the `ModelSelector` hands it every ranking (`review`, which may reorder or
 * veto models, never add one; a dry run's is flagged `input.dryRun`, to be
 * left out of what the host counts), the gateway every answer's selection (the
 * model that served, after any failover: `onSelected`, as `ModelSelector.select`
 * does for its choice); `Failover`
 * hands it every attempt's outcome (`onFeedback`) and every failover
 * (`onFailover`). A failure or defect inside the optimizer is logged and
 * ignored: the request path never depends on it.
 */
import type { FailoverEvent } from "@modelgate/domain/Events"
import { Context, Effect, Layer, Option } from "effect"
import type { Ranking, ScoredModel, SelectionInput } from "./ModelSelector.js"

/** The outcome of one attempt on one model, as `Failover` saw it. */
export interface Feedback {
  readonly requestId: string | undefined
  readonly model: string
  readonly success: boolean
  readonly latencyMs: number
  /** The error's tag when the attempt failed. */
  readonly errorTag: string | undefined
}

/** A host's optimizer. */
export class ModelOptimizer extends Context.Tag("@modelgate/core/ModelOptimizer")<
  ModelOptimizer,
  {
    /**
     * Reorder or remove entries of a ranking. Models not in `ranking.ranked`
     * are ignored; removed ones are reported as excluded ("vetoed").
     */
    readonly review: (input: SelectionInput, ranking: Ranking) => Effect.Effect<Ranking>
    /** A model answered a gateway request (with the ranking's input and its score), or was chosen by `ModelSelector.select`. */
    readonly onSelected: (input: SelectionInput, selected: ScoredModel) => Effect.Effect<void>
    /** A run moved from one model to another. */
    readonly onFailover: (event: FailoverEvent) => Effect.Effect<void>
    /** One attempt finished (success or failure). */
    readonly onFeedback: (feedback: Feedback) => Effect.Effect<void>
  }
>() {}

/** An optimizer that watches and changes nothing: a base for partial hosts (`{ ...passive, review }`). */
export const passive: ModelOptimizer["Type"] = {
  review: (_input, ranking) => Effect.succeed(ranking),
  onSelected: () => Effect.void,
  onFailover: () => Effect.void,
  onFeedback: () => Effect.void
}

/** Provide an optimizer built from some of its methods; the rest are `passive`. */
export const layer = (optimizer: Partial<ModelOptimizer["Type"]>): Layer.Layer<ModelOptimizer> =>
  Layer.succeed(ModelOptimizer, ModelOptimizer.of({ ...passive, ...optimizer }))

/**
 * Run a notification on the optional optimizer, never failing the caller:
 * absent optimizer = no-op; a defect is logged.
 */
export const notify = (
  optimizer: Option.Option<ModelOptimizer["Type"]>,
  f: (optimizer: ModelOptimizer["Type"]) => Effect.Effect<void>
): Effect.Effect<void> =>
  Option.match(optimizer, {
    onNone: () => Effect.void,
    onSome: (o) =>
      Effect.catchAllCause(Effect.suspend(() => f(o)), (cause) =>
        Effect.logWarning("ModelOptimizer notification failed; ignored", cause))
  })

/**
 * Apply the optimizer's review to a ranking, keeping only models it was given
 * (deduplicated) and listing the removed ones as vetoed. A failing review
 * leaves the ranking unchanged.
 */
export const applyReview = (
  optimizer: Option.Option<ModelOptimizer["Type"]>,
  input: SelectionInput,
  ranking: Ranking
): Effect.Effect<Ranking> =>
  Option.match(optimizer, {
    onNone: () => Effect.succeed(ranking),
    onSome: (o) =>
      Effect.suspend(() => o.review(input, ranking)).pipe(
        Effect.map((reviewed) => {
          const original = new Map(ranking.ranked.map((s) => [s.model.id as string, s] as const))
          const kept = new Map<string, ScoredModel>()
          for (const s of reviewed.ranked) {
            const known = original.get(s.model.id)
            if (known !== undefined && !kept.has(s.model.id)) kept.set(s.model.id, known)
          }
          const vetoed = ranking.ranked
            .filter((s) => !kept.has(s.model.id))
            .map((s) => ({ model: s.model.id as string, reason: "vetoed by the host's ModelOptimizer", kind: "permanent" as const }))
          return {
            ranked: [...kept.values()],
            excluded: [...ranking.excluded, ...vetoed],
            // Vetoed models have no known end: the hint stays the earliest timed exclusion's.
            retryAfterMs: ranking.retryAfterMs
          }
        }),
        Effect.catchAllCause((cause) =>
          Effect.as(Effect.logWarning("ModelOptimizer.review failed; ranking kept as is", cause), ranking)
        )
      )
  })
