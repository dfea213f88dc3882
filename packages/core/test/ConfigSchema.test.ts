import { assert, describe, it } from "@effect/vitest"
import { generateSchemas } from "@modelgate/core/ConfigFilesSchema"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const configDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../config")

describe("config/*.schema.json", () => {
  for (const { content, file } of generateSchemas()) {
    it(`config/${file} matches the Schemas (run \`npm run schema\` when this fails)`, () => {
      assert.strictEqual(readFileSync(path.join(configDir, file), "utf8"), content)
    })
  }

  it("the shipped files point at their schema", () => {
    assert.strictEqual(JSON.parse(readFileSync(path.join(configDir, "gateway.json"), "utf8")).$schema, "./schema.json")
    assert.strictEqual(JSON.parse(readFileSync(path.join(configDir, "models.json"), "utf8")).$schema, "./models.schema.json")
  })
})
