/**
 * Run the `modelgate` commands in-process with the service layer swapped for
 * doubles and the console captured (the database in a fresh temp directory).
 */
import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Console, Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Commands from "../../src/cli/Commands.js"
import { echoGateway, services } from "./Doubles.js"

/** Run `modelgate ...args` with these environment variables. */
export const runWith = (env: Record<string, string>, ...args: ReadonlyArray<string>) =>
  runOn(() => services(echoGateway), env, ...args)

/** Run `modelgate ...args` on `source`'s services with these environment variables (they win over `MODELGATE_DB`). */
export const runOn = (source: Commands.AppSource, env: Record<string, string>, ...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const err: Array<string> = []
    const capture = new Proxy({} as Console.Console, {
      get: (_target, key) => {
        if (key === "log" || key === "info") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(xs.join(" ")))
        if (key === "error" || key === "warn") return (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void err.push(xs.join(" ")))
        if (key === "unsafe") return { log: (...xs: ReadonlyArray<unknown>) => out.push(xs.join(" ")), error: (...xs: ReadonlyArray<unknown>) => err.push(xs.join(" ")) }
        if (key === Console.TypeId) return Console.TypeId
        return () => Effect.void
      }
    })
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-cli-"))
    const exit = yield* Commands.run(source)(["node", "modelgate", ...args]).pipe(
      Effect.withConsole(capture),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MODELGATE_DB", Path.join(dir, "data", "modelgate.db")], ...Object.entries(env)]))),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { exit, out: out.join("\n"), err: err.join("\n"), dir }
  })

/** Run `modelgate ...args`; returns the exit and everything printed. */
export const run = (...args: ReadonlyArray<string>) => runWith({}, ...args)

/** A config directory (with an empty `environments/`) holding `files`: strings as written, anything else as JSON. */
export const writeConfig = (files: Record<string, unknown>) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "modelgate-config-"))
  Fs.mkdirSync(Path.join(dir, "environments"))
  for (const [name, value] of Object.entries(files)) {
    Fs.writeFileSync(Path.join(dir, name), typeof value === "string" ? value : JSON.stringify(value))
  }
  return dir
}
