/**
 * The budget book stays bounded when every request names a new agent type:
 * a released hold leaves nothing behind, and the spend of agent types is
 * kept for those with a budget and the most recent others only, while
 * budgets keep refusing what does not fit.
 */
import { assert, describe, it } from "@effect/vitest"
import { BudgetBook, dims, dimsOf, usdToPico } from "@modelgate/core/CostTracker/Budgets"

const DAY = 86_400_000
const now = 40 * DAY + 1_000

describe("BudgetBook bounds", () => {
  it("holds released for 10,000 distinct agent types leave no reservation entry, and live holds still count", () => {
    const book = new BudgetBook()
    book.roll(now)
    for (let i = 0; i < 10_000; i++) {
      book.hold(`r${i}`, dimsOf("a", `agent-${i}`), 5n)
      book.unhold(`r${i}`)
    }
    assert.strictEqual(book.sizes().reserved, 0)
    book.hold("open", dimsOf("a", "team"), 7n)
    book.hold("other", dimsOf("a", "team"), 3n)
    book.unhold("other")
    assert.strictEqual(book.reservedOn(dims.agentType("team")), 7n)
    assert.strictEqual(book.reservedOn(dims.global), 7n)
    const limit = { name: dims.agentType("team"), period: "daily" as const, limitPico: 10n }
    assert.strictEqual(book.blockingBudget([limit], 4n), limit)
    assert.isUndefined(book.blockingBudget([limit], 3n))
  })

  it("spend on 1,000 distinct agent types keeps at most 100 of them, never one with a budget, and the global total whole", () => {
    const book = new BudgetBook(100)
    book.roll(now)
    const budgeted = { team: { daily: 1 } }
    const cost = usdToPico(0.01)
    book.add(now, dimsOf("a", "team"), cost, budgeted)
    for (let i = 0; i < 1_000; i++) book.add(now, dimsOf("a", `agent-${i}`), cost, budgeted)
    const sizes = book.sizes()
    // global, model:a, and at most 100 agent types (team among them)
    assert.isAtMost(sizes.daily, 102)
    assert.isAtMost(sizes.monthly, 102)
    assert.strictEqual(book.spent("daily", dims.agentType("team")), cost)
    assert.strictEqual(book.spent("monthly", dims.agentType("agent-999")), cost)
    assert.strictEqual(book.spent("daily", dims.agentType("agent-0")), 0n)
    assert.strictEqual(book.spent("daily", dims.global), cost * 1_001n)
    const team = { name: dims.agentType("team"), period: "daily" as const, limitPico: usdToPico(0.015) }
    assert.strictEqual(book.blockingBudget([team], usdToPico(0.01)), team)
  })

  it("seeded with more agent types than the bound (month, then day), `bound` keeps the budgeted and today's", () => {
    const book = new BudgetBook(3)
    book.roll(now)
    for (const agent of ["team", "old-1", "old-2", "old-3", "today"]) book.seed("monthly", dims.agentType(agent), 5n)
    book.seed("daily", dims.agentType("today"), 1n)
    book.bound({ team: { monthly: 1 } })
    assert.strictEqual(book.sizes().monthly, 3)
    assert.strictEqual(book.spent("monthly", dims.agentType("team")), 5n)
    assert.strictEqual(book.spent("monthly", dims.agentType("today")), 5n)
    assert.strictEqual(book.spent("daily", dims.agentType("today")), 1n)
    assert.strictEqual(book.spent("monthly", dims.agentType("old-1")), 0n)
  })

  it("long agent-type names are bounded by their characters too", () => {
    const book = new BudgetBook(1_000, 10_000)
    book.roll(now)
    for (let i = 0; i < 100; i++) book.add(now, dimsOf("a", `${i}-${"x".repeat(1_000)}`), 1n)
    // global and model:a, and at most the ~9 agent types that fit 10,000 characters
    assert.isAtMost(book.sizes().monthly, 2 + 9)
    assert.strictEqual(book.spent("monthly", dims.agentType(`99-${"x".repeat(1_000)}`)), 1n)
  })

  it("an agent type spent on again is the most recent: it outlives those spent on once before it", () => {
    const book = new BudgetBook(3)
    book.roll(now)
    for (const agent of ["x", "y", "z", "x", "w"]) book.add(now, dimsOf("a", agent), 1n)
    assert.strictEqual(book.spent("daily", dims.agentType("x")), 2n)
    assert.strictEqual(book.spent("daily", dims.agentType("y")), 0n)
    assert.strictEqual(book.spent("daily", dims.agentType("w")), 1n)
  })
})
