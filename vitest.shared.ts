import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))
const pkg = (name: string) => path.join(root, "packages", name, "src")

/** Tests run on the TypeScript sources: `@modelgate/x` resolves to `packages/x/src`. */
export default defineConfig({
  resolve: {
    alias: [
      ...["domain", "core", "providers", "sql", "node", "testkit"].flatMap((name) => [
        { find: new RegExp(`^@modelgate/${name}$`), replacement: path.join(pkg(name), "index.ts") },
        { find: new RegExp(`^@modelgate/${name}/(.*)$`), replacement: path.join(pkg(name), "$1.ts") }
      ])
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Deep equality that tells Option.none() from Option.some(x) (see the file).
    setupFiles: [path.join(root, "vitest.setup.ts")],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
