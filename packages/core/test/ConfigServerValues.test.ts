/**
 * Values of `server` that would silently do something else than asked.
 *
 * `server.cors` lists origins a browser sends in its `Origin` header
 * (`https://app.example.com`: scheme, host, port). An entry that can never
 * equal one (a trailing slash, a path, no scheme, upper case, the default
 * port) silently allows nobody: it is a problem of the file, named by its path.
 * An empty `server.host` (`HOST=` in a `.env`) would listen on every
 * interface, not on 127.0.0.1: refused, naming the variable. A failover time
 * of 1e999 (JSON's Infinity) would wait without end: refused.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import { decodeAll } from "@modelgate/core/ConfigFiles"
import { validate } from "@modelgate/core/GatewayConfig"
import { GatewayConfigData } from "@modelgate/core/GatewayConfigSchema"
import { ConfigProvider, Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const problems = (cors: ReadonlyArray<string>) => decodeProblems({ server: { cors } })

const decodeProblems = (json: unknown) =>
  Either.match(decodeAll(GatewayConfigData, "gateway.json", json), {
    onLeft: (errors) => errors.map((e) => `${e.path}: ${e.reason}`),
    onRight: () => []
  })

describe("server.cors", () => {
  it("an entry no browser's Origin can equal is refused, naming its index", () => {
    const found = problems(["https://ok.example.com", "https://app.example.com/", "app.example.com", "https://App.example.com", "https://x.example.com:443", "http://localhost:3000/ui"])
    assert.deepStrictEqual(found.map((p) => p.split(":")[0]), ["server.cors[1]", "server.cors[2]", "server.cors[3]", "server.cors[4]", "server.cors[5]"])
    assert.include(found[0], "https://app.example.com")
  })

  it("origins and * are accepted", () => {
    assert.deepStrictEqual(problems(["*", "https://app.example.com", "http://localhost:3000", "http://127.0.0.1:8080", "https://[::1]:8443"]), [])
  })
})

describe("server.host", () => {
  it("empty is refused in the file", () => {
    assert.deepStrictEqual(decodeProblems({ server: { host: "" } }).map((p) => p.split(":")[0]), ["server.host"])
    assert.deepStrictEqual(decodeProblems({ server: { host: "0.0.0.0" } }), [])
  })

  it.effect("HOST= (empty) is refused, naming the variable", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-host-"))
      fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify({ models: [] }))
      const found = yield* validate(dir)
      fs.rmSync(dir, { recursive: true })
      assert.deepStrictEqual(found.map((e) => `${e.file}:${e.path}`), ["environment variable HOST:server.host"])
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["HOST", ""]]))), Effect.provide(NodeContext.layer)))
})

describe("failover times", () => {
  it("1e999 (JSON's Infinity: wait or back off forever) is refused, naming the field", () => {
    const json = JSON.parse(`{"failover": {"queueDeadlineMs": 1e999, "backoffBaseMs": 1e999, "backoffCapMs": 1e999}}`)
    assert.deepStrictEqual(
      decodeProblems(json).map((p) => p.split(":")[0]).sort(),
      ["failover.backoffBaseMs", "failover.backoffCapMs", "failover.queueDeadlineMs"]
    )
    assert.deepStrictEqual(decodeProblems({ failover: { queueDeadlineMs: 0, backoffBaseMs: 0, backoffCapMs: 2_000 } }), [])
  })
})
