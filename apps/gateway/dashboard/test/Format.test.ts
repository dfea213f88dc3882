import { describe, expect, it } from "@effect/vitest"
import * as Format from "../src/Format.js"

describe("the dashboard's money", () => {
  it("shows a cost too small for six decimals as what it is, never as a zero that is not one", () => {
    expect(Format.usd(0)).toBe("$0")
    expect(Format.usd(0.000042)).toBe("$0.000042")
    expect(Format.usd(4.2e-7)).toBe("$0.00000042")
    expect(Format.usd(1.5e-9)).toBe("$0.0000000015")
  })

  it("groups the thousands of large sums and puts a minus before the dollar sign", () => {
    expect(Format.usd(1234567.891)).toBe("$1,234,567.89")
    expect(Format.usd(12.5)).toBe("$12.50")
    expect(Format.usd(-0.5)).toBe("-$0.50")
    expect(Format.usd(-0.000042)).toBe("-$0.000042")
  })
})

describe("the dashboard's shares and counts", () => {
  it("shows a share too small for one decimal as under 0.1%, never as 0.0% when it is not zero", () => {
    expect(Format.percent(0)).toBe("0%")
    expect(Format.percent(0.0001)).toBe("<0.1%")
    expect(Format.percent(0.05)).toBe("5.0%")
    expect(Format.percent(0.5)).toBe("50%")
    expect(Format.percent(null)).toBe("–")
  })

  it("writes one of a thing in the singular", () => {
    expect(Format.counted(1, "request")).toBe("1 request")
    expect(Format.counted(0, "error")).toBe("0 errors")
    expect(Format.counted(12345, "token")).toBe("12,345 tokens")
  })
})
