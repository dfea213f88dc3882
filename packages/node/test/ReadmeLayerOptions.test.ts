/**
 * README's "Using the library" table names every layer `GatewayLive.layerWith`
 * can put in place of a live one, and only those: a host reads that table to
 * learn what it may swap.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** The options of `GatewayLiveOptions` that take a layer. */
const layerOptions = (): ReadonlyArray<string> => {
  const source = fs.readFileSync(path.join(root, "packages/node/src/GatewayLive.ts"), "utf8")
  const options = /export interface GatewayLiveOptions \{([\s\S]*?)\n\}/.exec(source)?.[1]
  if (options === undefined) throw new Error("GatewayLive.ts: no GatewayLiveOptions interface")
  return [...options.matchAll(/readonly (\w+)\?: Layer\.Layer</g)].map((m) => m[1]!).sort()
}

/** The options in the first column of the README's table of replacements. */
const readmeOptions = (): ReadonlyArray<string> => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Using the library"), readme.indexOf("## Architecture"))
  return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]!).sort()
}

describe("README library section", () => {
  it("lists every layer option of GatewayLive.layerWith", () => {
    assert.isNotEmpty(layerOptions())
    assert.deepStrictEqual(readmeOptions(), layerOptions())
  })
})
