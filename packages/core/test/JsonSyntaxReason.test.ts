/**
 * A configuration file that is not JSON is reported by line and column, never
 * by a quote of its text: wherever the broken place is in the file (its start,
 * its middle, its end), none of the text around it is printed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { parseJson } from "../src/ConfigFiles.js"
import { jsonSyntaxReason } from "../src/internal/jsonSyntaxError.js"

const key = "mg-Q2hvY29sYXRlQ2FrZUlzQUxpZTEyMzQ1Njc4OTAxMjM0"

const reasonOf = (text: string) => {
  const parsed = parseJson("gateway.json", text)
  assert.isTrue(Either.isLeft(parsed), text)
  return Either.isLeft(parsed) ? parsed.left.reason : ""
}

describe("parseJson: a syntax error", () => {
  it("at the start, in the middle or at the end of the file: line and column, no quote", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      [key, "line 1 column 1"],
      [`{"a": 1,\n "sha256": ${key} }`, "line 2 column 12"],
      [`{"auth": {"virtualKeys": [{"name": "search", "sha256": "0"}]},\n "x": mg-Q2}`, "line 2 column 7"],
      [`{"sha256": ${key}`, "line 1 column 12"]
    ]
    for (const [text, where] of cases) {
      const reason = reasonOf(text)
      assert.include(reason, `Unexpected token 'm' at ${where}`, text)
      assert.notInclude(reason, "mg-Q", text)
    }
  })

  it("other syntax errors keep V8's words, which quote nothing, with the line and column of the offset V8 names", () => {
    assert.strictEqual(reasonOf(`{"a": 1,}`), "not valid JSON: Expected double-quoted property name at line 1 column 9")
    assert.strictEqual(reasonOf(`{"a": `), "not valid JSON: Unexpected end of JSON input")
  })

  it("a comma forgotten or left over deep in a long file is found by its line and column, not a character offset", () => {
    const lines = Array.from({ length: 40 }, (_, i) => `  "k${i}": ${i},`)
    const missingComma = `{\n${lines.join("\n")}\n  "a": 1\n  "b": 2\n}`
    assert.strictEqual(reasonOf(missingComma), "not valid JSON: Expected ',' or '}' after property value at line 43 column 3")
    const trailingComma = `{\n${lines.join("\n")}\n  "a": 1,\n}`
    assert.strictEqual(reasonOf(trailingComma), "not valid JSON: Expected double-quoted property name at line 43 column 1")
    // Node 22 and later add the line and column themselves: said once.
    assert.strictEqual(
      jsonSyntaxReason("{\n\"a\": 1,}", "Expected double-quoted property name in JSON at position 9 (line 2 column 8)"),
      "Expected double-quoted property name at line 2 column 8"
    )
  })

  it("an empty file says so", () => {
    assert.strictEqual(reasonOf(""), "not valid JSON: the file is empty")
    assert.strictEqual(reasonOf(" \n"), "not valid JSON: the file is empty")
  })
})
