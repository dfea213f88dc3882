#!/usr/bin/env node
// `npx modelgate` (the package's bin): runs the compiled CLI, apps/gateway/dist/bin.js.
// The bin is this committed launcher, not dist/bin.js itself: npm links a bin only if its
// file exists at install time, and on a fresh clone dist/ is built after `npm ci`.
import { existsSync } from "node:fs"

const cli = new URL("../dist/bin.js", import.meta.url)
if (!existsSync(cli)) {
  process.stderr.write("modelgate: not built yet: run `npm run build` (or `npm start`) first\n")
  process.exit(1)
}
await import(cli.href)
