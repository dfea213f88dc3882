import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { makeUtf8Decoder } from "../src/internal/utf8.js"

const encode = (text: string) => new TextEncoder().encode(text)

/** Bytes of a body: ASCII lines, multi-byte characters, a BOM, and now and then invalid or cut sequences. */
const piece = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }).map(encode), weight: 4 },
  { arbitrary: fc.constantFrom("\n", "\r\n", "data: {\"a\":1}\n\n").map(encode), weight: 3 },
  { arbitrary: fc.constantFrom("é", "€", "😀", "\uFEFF", "日本").map(encode), weight: 4 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }), weight: 2 },
  { arbitrary: fc.constantFrom([0xef, 0xbb, 0xbf], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3], [0x80], [0xff]).map((b) => Uint8Array.from(b)), weight: 2 }
)
const body = fc.array(piece, { maxLength: 12 }).map((pieces) => {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
})

/** `bytes` cut at the given offsets (empty chunks included). */
const cut = (bytes: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const p of points) {
    chunks.push(bytes.subarray(from, p))
    from = p
  }
  chunks.push(bytes.subarray(from))
  return chunks
}

describe("makeUtf8Decoder", () => {
  it("gives, chunk by chunk, what a streaming TextDecoder gives", () => {
    let nonAscii = 0
    fc.assert(
      fc.property(body, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (bytes, offsets, withBom) => {
        const all = withBom ? Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes]) : bytes
        if (all.some((b) => b >= 0x80)) nonAscii++
        const reference = new TextDecoder()
        const decode = makeUtf8Decoder()
        for (const chunk of cut(all, offsets)) {
          assert.strictEqual(decode(chunk), reference.decode(chunk, { stream: true }))
        }
      }),
      { numRuns: 2000 }
    )
    assert.isAbove(nonAscii, 500)
  })

  it("drops a BOM only at the start of the body, also when it is split", () => {
    const decode = makeUtf8Decoder()
    assert.strictEqual(decode(Uint8Array.from([0xef, 0xbb])), "")
    assert.strictEqual(decode(Uint8Array.from([0xbf, 0x61, 0x0a])), "a\n")
    assert.strictEqual(decode(Uint8Array.from([0xef, 0xbb, 0xbf, 0x0a])), "\uFEFF\n")
  })
})
