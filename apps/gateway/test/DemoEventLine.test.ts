/**
 * The demo prints each gateway event as one line: its tag and its fields,
 * without the fields the event does not have (a request with no agent type).
 */
import { assert, describe, it } from "@effect/vitest"
import { describeEvent } from "../src/cli/demo.js"

describe("demo event line", () => {
  it("leaves out the fields an event does not have", () => {
    const line = describeEvent({
      _tag: "Failover",
      at: 1,
      requestId: "mg-1",
      agentType: undefined,
      from: "gpt-4o-mini",
      to: "claude-haiku-4-5",
      attempt: 2,
      elapsedMs: 126.4
    })
    assert.strictEqual(line, "Failover requestId=mg-1 from=gpt-4o-mini to=claude-haiku-4-5 attempt=2 elapsedMs=126.4")
  })
})
