/**
 * A problem of `models.json` names the model it is in by its id, not only by
 * its index: `models[13].pricing.inputPerMillion` alone leaves a user editing
 * a list of twenty models counting entries. Both `modelgate config validate`
 * and `serve` print these messages.
 */
import { assert, describe, it } from "@effect/vitest"
import { KnownProviders } from "@modelgate/domain/Ids"
import { Either } from "effect"
import { firstError } from "../src/ConfigFiles.js"
import { checkModelsText } from "../src/ModelRegistry/Validation.js"
import { rawModel } from "./ModelRegistryFixtures.js"

const problems = (models: ReadonlyArray<unknown>) => {
  const checked = checkModelsText("models.json", JSON.stringify({ models }), new Set(KnownProviders))
  assert.isTrue(Either.isLeft(checked))
  return Either.isLeft(checked) ? checked.left : []
}

describe("models.json problems name the model", () => {
  it("a schema problem, a checked problem and a fallback name the entry's id after its path", () => {
    const errors = problems([
      rawModel("gpt-4o-mini"),
      rawModel("gpt-4o", { pricing: { inputPerMillion: "2.5", outputPerMillion: 10 } }),
      rawModel("o4-mini", { provider: "opnai" }),
      rawModel("o3", { fallbacks: ["gpt-4o-mni"] })
    ])
    assert.deepStrictEqual(
      errors.map((e) => e.message),
      [
        `invalid configuration in models.json at models[1].pricing.inputPerMillion (model "gpt-4o"): Expected number, actual "2.5"`,
        `invalid configuration in models.json at models[2].provider (model "o4-mini"): unknown provider "opnai" (known: ${KnownProviders.join(", ")})`,
        `invalid configuration in models.json at models[3].fallbacks[0] (model "o3"): unknown fallback model id "gpt-4o-mni"`
      ]
    )
    // The path stays the field's path (editors and tests match it); `serve` prints the first problem the same way.
    assert.strictEqual(errors[0]?.path, "models[1].pricing.inputPerMillion")
    assert.include(firstError(errors, "models.json").message, `models[1].pricing.inputPerMillion (model "gpt-4o"): Expected number`)
  })

  it("an entry without a usable id is named by its index alone", () => {
    const errors = problems([rawModel("gpt-4o-mini"), { ...rawModel("x"), id: 42 }])
    assert.deepStrictEqual(errors.map((e) => e.message), [`invalid configuration in models.json at models[1].id: Expected string, actual 42`])
  })
})
