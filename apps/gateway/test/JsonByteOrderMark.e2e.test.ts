/**
 * A JSON body that starts with a UTF-8 byte order mark (EF BB BF): Windows
 * tools write one in every file saved as "UTF-8" (Windows PowerShell 5.1's
 * `Out-File` / `Set-Content -Encoding UTF8`, .NET's `Encoding.UTF8`), and
 * `curl --data @request.json` then sends it. RFC 8259 lets a parser ignore
 * it: the request is answered as the same body without it, on the hot route
 * and on an admin route, never refused as "not valid JSON: Unexpected
 * token" over an invisible character.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { chatBody, requestAt } from "./support/Client.js"
import { echoGateway } from "./support/Doubles.js"
import { serveWith } from "./support/Served.js"

const bom = Buffer.from([0xef, 0xbb, 0xbf])
const withBom = (value: unknown) => Buffer.concat([bom, Buffer.from(JSON.stringify(value))])
const master = { authorization: "Bearer sk-master" }

describe("a JSON body with a UTF-8 byte order mark", () => {
  it.live("modelgate serve answers it as the body without the mark", () =>
    Effect.gen(function* () {
      const server = yield* serveWith(echoGateway, { masterKey: "sk-master" })
      const url = `http://127.0.0.1:${server.port}`
      const chat = yield* requestAt(url, "/v1/chat/completions", { body: withBom(chatBody()), headers: master })
      assert.strictEqual(chat.status, 200, chat.text)
      assert.strictEqual(chat.json.choices[0].message.content, "echo: hello")
      // Through the router (a query string), as the routed path reads it.
      const routed = yield* requestAt(url, "/v1/chat/completions?source=windows", { body: withBom(chatBody()), headers: master })
      assert.strictEqual(routed.status, 200, routed.text)
      const select = yield* requestAt(url, "/admin/select", { body: withBom(chatBody()), headers: master })
      assert.strictEqual(select.status, 200, select.text)
      // A mark alone is an empty body, named as one.
      const empty = yield* requestAt(url, "/v1/chat/completions", { body: bom, headers: master })
      assert.strictEqual(empty.status, 400)
      assert.strictEqual(empty.json.error.message, "request body is empty; expected a JSON object")
      yield* Scope.close(server.scope, Exit.void)
    }))
})
