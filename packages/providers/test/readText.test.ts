import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as Http from "node:http"
import { Pool } from "undici"
import { readText } from "../src/internal/body.js"

/**
 * A server answering each request with `bytes` of the current case, either in
 * one write (the answer arrives whole with its headers: `readText` takes the
 * buffered bytes at once) or in two writes 5 ms apart (it waits for the end).
 */
const serve = async () => {
  let current: { readonly bytes: Buffer; readonly split: boolean } = { bytes: Buffer.alloc(0), split: false }
  const server = Http.createServer((_req, res) => {
    const { bytes, split } = current
    res.writeHead(200, { "content-type": "application/json", "content-length": bytes.length })
    if (!split) return void res.end(bytes)
    const half = bytes.length >> 1
    res.write(bytes.subarray(0, half))
    setTimeout(() => res.end(bytes.subarray(half)), 5)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
  return { url, set: (bytes: Buffer, split: boolean) => void (current = { bytes, split }), close: () => server.close() }
}

const bytesArb = fc.tuple(
  fc.constantFrom(Buffer.alloc(0), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xef, 0xbb])),
  fc.oneof(
    fc.string({ unit: "grapheme" }).map((s) => Buffer.from(s, "utf8")),
    // Any bytes, invalid UTF-8 included (replaced as undici replaces them).
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a))
  )
).map(([prefix, body]) => Buffer.concat([prefix, body]))

describe("readText", () => {
  it("gives the text undici's own text() gives, whether the answer arrived whole or in parts", async () => {
    const server = await serve()
    const pool = new Pool(server.url, { connections: 1 })
    try {
      await fc.assert(
        fc.asyncProperty(bytesArb, fc.boolean(), async (bytes, split) => {
          server.set(bytes, split)
          const expected = await (await pool.request({ path: "/", method: "GET" })).body.text()
          const actual = await Effect.runPromise(
            // Scoped, as the adapters' client is (internal/http.ts): the platform's undici response itself.
            Effect.scoped(Effect.flatMap(HttpClient.HttpClient, (client) => Effect.flatMap(HttpClient.withScope(client).get(server.url), readText)))
              .pipe(Effect.provide(NodeHttpClient.layerUndici))
          )
          assert.strictEqual(actual, expected)
        }),
        { numRuns: 100 }
      )
    } finally {
      await pool.close()
      server.close()
    }
  })
})
