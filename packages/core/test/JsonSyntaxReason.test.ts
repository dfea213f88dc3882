/**
 * A configuration file that is not JSON is reported by line and column, never
 * by a quote of its text: wherever the broken place is in the file (its start,
 * its middle, its end), none of the text around it is printed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { parseJson } from "../src/ConfigFiles.js"

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

  it("other syntax errors keep V8's words, which quote nothing", () => {
    assert.match(reasonOf(`{"a": 1,}`), /^not valid JSON: Expected double-quoted property name in JSON at position 8/)
    assert.strictEqual(reasonOf(`{"a": `), "not valid JSON: Unexpected end of JSON input")
  })
})
