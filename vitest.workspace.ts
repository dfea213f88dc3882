import { defineWorkspace } from "vitest/config"

/** One vitest project per workspace; each runs its `test/**\/*.test.ts` on the TypeScript sources. */
export default defineWorkspace(
  ["packages/domain", "packages/core", "packages/providers", "packages/sql", "packages/testkit", "packages/node", "apps/gateway"].map(
    (dir) => ({
      extends: "./vitest.shared.ts",
      test: { name: dir.split("/")[1]!, root: `./${dir}` }
    })
  )
)
