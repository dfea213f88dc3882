import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** The README's TypeScript example: the first ```ts block of "## Using the library". */
const readmeBlock = (): string => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Using the library"))
  const match = /```ts\n([\s\S]*?)```/.exec(section)
  if (match?.[1] === undefined) throw new Error("README.md: no ```ts block under '## Using the library'")
  return match[1]
}

/**
 * Type-check `source` as a module of this package, with the repository's
 * compiler options, as a user's file beside the installed packages (their
 * built declarations): the diagnostics, formatted.
 */
const typeCheck = (source: string): ReadonlyArray<string> => {
  const base = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.base.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"))
    }
  })
  if (base === undefined) throw new Error("tsconfig.base.json: not readable")
  const options: ts.CompilerOptions = { ...base.options, noEmit: true, composite: false, incremental: false, declaration: false, declarationMap: false }
  const file = path.join(root, "packages/node/test/__readme_example__.ts")
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile
  host.getSourceFile = (name, language, onError, create) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, onError, create)
  const fileExists = host.fileExists
  host.fileExists = (name) => name === file || fileExists.call(host, name)
  const program = ts.createProgram([file], options, host)
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined
    return `${where ? `README example line ${where.line + 1}: ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
  })
}

describe("README library example, as printed", () => {
  it("type-checks against the packages' declarations", () => {
    const block = readmeBlock()
    assert.include(block, "GatewayLive", "the example uses GatewayLive")
    assert.deepStrictEqual(typeCheck(block), [])
  }, 60_000)

  it("the check catches a wrong example", () => {
    const wrong = readmeBlock().replace("gateway.complete(", "gateway.completeIt(")
    assert.isNotEmpty(typeCheck(wrong))
  }, 60_000)
})
