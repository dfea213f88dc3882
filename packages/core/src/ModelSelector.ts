/**
 * ModelSelector: filter, score (capability .30, cost .25, performance .25,
 * availability .20), rank, explain.
 *
 * Contract (implementation: routing issue).
 */
import type { Exclusion, NoEligibleModel } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { TaskRequirements } from "@modelgate/domain/Requirements"
import { Context, type Effect } from "effect"

/** What the selector needs to know of a request. */
export interface SelectionInput {
  readonly requirements: TaskRequirements
  readonly estimatedPromptTokens: number
  /** The output tokens the request asks for (or a default). */
  readonly maxOutputTokens: number
  /** Restrict ranking to these model ids (e.g. an explicit model and its fallbacks). */
  readonly only?: ReadonlyArray<string> | undefined
}

/** Each part of a score, normalised to 0..1. */
export interface ScoreParts {
  readonly capability: number
  readonly cost: number
  readonly performance: number
  readonly availability: number
}

/** A model with its score, the parts, and a human explanation. */
export interface ScoredModel {
  readonly model: ModelMetadata
  readonly score: number
  readonly parts: ScoreParts
  readonly weights: ScoreParts
  readonly explanation: ReadonlyArray<string>
}

/** Eligible models best first, and why the others were left out. */
export interface Ranking {
  readonly ranked: ReadonlyArray<ScoredModel>
  readonly excluded: ReadonlyArray<Exclusion>
}

/** Model selection. */
export class ModelSelector extends Context.Tag("@modelgate/core/ModelSelector")<
  ModelSelector,
  {
    readonly rank: (input: SelectionInput) => Effect.Effect<Ranking>
    readonly select: (input: SelectionInput) => Effect.Effect<ScoredModel, NoEligibleModel>
  }
>() {}
