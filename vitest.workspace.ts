import { defineWorkspace } from "vitest/config"

/** One vitest project per workspace (and the dashboard, a browser program); each runs its `test/**\/*.test.ts` on the TypeScript sources. */
export default defineWorkspace(
  ["packages/domain", "packages/core", "packages/providers", "packages/sql", "packages/testkit", "packages/node", "apps/gateway", "apps/gateway/dashboard"].map(
    (dir) => ({
      extends: "./vitest.shared.ts",
      test: { name: dir.split("/").at(-1)!, root: `./${dir}` }
    })
  )
)
