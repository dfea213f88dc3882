/**
 * The budgets' memos (`budgetsFor`, `dimsOf`: one entry per model and agent
 * type, at most 1,024) keep no long agent-type names: an agent type is
 * whatever a request names, and the first 1,024 stay for the process's life
 * (dims) or the configuration's (budgets). A long name is computed each
 * time instead; the answers are the same either way.
 */
import { assert, describe, it } from "@effect/vitest"
import { budgetsFor, dims, dimsOf } from "@modelgate/core/CostTracker/Budgets"
import { BudgetLimit, BudgetsConfig } from "@modelgate/core/GatewayConfigSchema"

const config = BudgetsConfig.make({ global: BudgetLimit.make({ daily: 1 }) })

describe("budget memos and long agent-type names", () => {
  it("a short name is memoised (the same answer object), a long one is not kept", () => {
    assert.strictEqual(dimsOf("m", "team"), dimsOf("m", "team"))
    assert.strictEqual(budgetsFor(config, "m", "team"), budgetsFor(config, "m", "team"))
    const long = "x".repeat(100_000)
    const first = dimsOf("m", long)
    assert.deepStrictEqual(first, [dims.global, dims.model("m"), dims.agentType(long)])
    assert.notStrictEqual(dimsOf("m", long), first, "not kept: computed again")
    const budgets = budgetsFor(config, "m", long)
    assert.deepStrictEqual(budgetsFor(config, "m", long), budgets)
    assert.notStrictEqual(budgetsFor(config, "m", long), budgets, "not kept: computed again")
  })
})
