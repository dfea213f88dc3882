import { describe, expect, it } from "@effect/vitest"
import { parser } from "../src/Sse.js"

const feed = (pieces: ReadonlyArray<string>) => {
  const out: Array<string> = []
  const push = parser((data) => out.push(data))
  for (const piece of pieces) push(piece)
  return out
}

describe("the dashboard's SSE parser", () => {
  it("hands on each event's data once its blank line arrives, however the text is split", () => {
    const text = ": connected\n\ndata: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\ndata: first\ndata: second\n\n"
    const whole = feed([text])
    expect(whole).toEqual(["{\"a\":1}", "{\"b\":2}", "first\nsecond"])
    // Split at every position, even between `\r` and `\n`: the same events.
    for (let i = 1; i < text.length; i++) expect(feed([text.slice(0, i), text.slice(i)])).toEqual(whole)
  })

  it("skips comments and other fields, and keeps an unfinished event until its end arrives", () => {
    expect(feed([": keep-alive\n\n", "event: x\nid: 3\ndata: y\n\n"])).toEqual(["y"])
    expect(feed(["data: half"])).toEqual([])
  })
})
