/**
 * CostTracker: price per model, cost records, aggregations, budgets.
 *
 * Contract (implementation: accounting issue). The selector reads
 * `estimateCost` / `budgetHeadroom`; the gateway reserves before a call and
 * commits or releases after it.
 */
import type { BudgetExceeded } from "@modelgate/domain/Errors"
import type { ModelMetadata } from "@modelgate/domain/Model"
import type { PicoUsd } from "@modelgate/domain/Money"
import type { CostRecord } from "@modelgate/domain/Records"
import { Context, type Effect } from "effect"

/** Money held against every budget a request would spend on, until it is committed or released. */
export interface BudgetReservation {
  readonly id: string
  readonly model: string
  readonly agentType: string | undefined
  readonly amount: PicoUsd
}

/** Costs and budgets. */
export class CostTracker extends Context.Tag("@modelgate/core/CostTracker")<
  CostTracker,
  {
    /** Exact cost of the given token counts on `model`. */
    readonly cost: (model: ModelMetadata, usage: { readonly promptTokens: number; readonly completionTokens: number; readonly cachedTokens: number }) => PicoUsd
    /**
     * Whether `amount` more would fit every budget `model` / `agentType` spend on.
     * Fails with the first budget it would exceed.
     */
    readonly checkBudget: (model: ModelMetadata, agentType: string | undefined, amount: PicoUsd) => Effect.Effect<void, BudgetExceeded>
    /** Hold `amount` against the budgets (race-free); fails when a budget has no room. */
    readonly reserve: (model: ModelMetadata, agentType: string | undefined, amount: PicoUsd) => Effect.Effect<BudgetReservation, BudgetExceeded>
    /** Replace a reservation by the actual cost and record it (offered to the RecordSink). */
    readonly commit: (reservation: BudgetReservation, record: CostRecord) => Effect.Effect<void>
    /** Drop a reservation (the call failed; nothing was spent). */
    readonly release: (reservation: BudgetReservation) => Effect.Effect<void>
    /** Record a cost that had no reservation (a cache hit: zero cost). */
    readonly record: (record: CostRecord) => Effect.Effect<void>
  }
>() {}
