/**
 * Writes config/schema.json and config/models.schema.json from the Schemas.
 * Run with `npm run schema` from the repository root.
 */
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { generateSchemas } from "../src/ConfigFilesSchema.js"

const configDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../config")
for (const { content, file } of generateSchemas()) {
  writeFileSync(path.join(configDir, file), content)
  process.stdout.write(`wrote config/${file}\n`)
}
