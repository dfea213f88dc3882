/**
 * A virtual key's sliding-minute limit: never more than `rpm` admitted
 * requests in any 60 s, and a request refused only when `rpm` were admitted in
 * the minute before it, with the wait until the oldest of them leaves.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as KeyWindow from "../src/http/KeyWindow.js"

describe("KeyWindow", () => {
  it("admits rpm requests a minute and tells how long until the next one may come", () => {
    const window = KeyWindow.make(3)
    assert.deepStrictEqual([0, 10, 20].map(window.admit), [undefined, undefined, undefined])
    assert.strictEqual(window.admit(30), 59_970)
    // A refused request is not counted: the oldest admitted one still sets the wait.
    assert.strictEqual(window.admit(59_999), 1)
    assert.isUndefined(window.admit(60_000))
    assert.strictEqual(window.admit(60_001), 9)
    assert.isUndefined(window.admit(60_010))
  })

  it("holds for any arrival times: at most rpm in any minute, refused only when rpm were admitted in the last one", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 60 }), (rpm, gaps) => {
        const window = KeyWindow.make(rpm)
        const admitted: Array<number> = []
        let now = 0
        for (const gap of gaps) {
          now += gap
          const inLastMinute = admitted.filter((t) => t > now - KeyWindow.windowMs)
          const wait = window.admit(now)
          if (wait === undefined) {
            assert.isBelow(inLastMinute.length, rpm)
            admitted.push(now)
            assert.strictEqual(window.used(now), inLastMinute.length + 1)
          } else {
            assert.strictEqual(inLastMinute.length, rpm)
            assert.strictEqual(wait, inLastMinute[0]! + KeyWindow.windowMs - now)
          }
        }
      })
    )
  })

  it("a window made from another's admitted times keeps its newest rpm of them: the limit holds across a change of rpm", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 30 }),
        (before, after, gapsBefore, gapsAfter) => {
          let window = KeyWindow.make(before)
          const admitted: Array<number> = []
          let now = 0
          for (const gap of gapsBefore) {
            now += gap
            if (window.admit(now) === undefined) admitted.push(now)
          }
          assert.deepStrictEqual(window.admitted(now), admitted.filter((t) => t > now - KeyWindow.windowMs))
          window = KeyWindow.make(after, window.admitted(now))
          for (const gap of gapsAfter) {
            now += gap
            const inLastMinute = admitted.filter((t) => t > now - KeyWindow.windowMs)
            const wait = window.admit(now)
            if (wait === undefined) {
              assert.isBelow(inLastMinute.length, after)
              admitted.push(now)
            } else {
              assert.isAtLeast(inLastMinute.length, after)
              assert.strictEqual(wait, inLastMinute.at(-after)! + KeyWindow.windowMs - now)
            }
          }
        }
      )
    )
  })
})
