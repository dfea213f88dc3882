/**
 * A prompt over the model's context is refused by Ollama in the words of the
 * engine that runs the model (the adapter sends `truncate: false`):
 * llama-server's `exceed_context_size_error` body, the Go runners' "the
 * input length exceeds the context length" (Oct 2025 - May 2026), and the
 * MLX engine's (Apple silicon) "input length (N tokens) exceeds the model's
 * maximum context length (M tokens)" (`x/mlxrunner/pipeline.go`, a 400).
 * Each is ContextLengthExceeded, so the failover moves on to a model with a
 * larger window; the MLX wording was a plain BadRequest, failing the request.
 */
import { ModelMetadata } from "@modelgate/domain/Model"
import { Fault } from "@modelgate/testkit/FakeServer"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Ollama from "../src/Ollama.js"
import { classify } from "../src/Ollama/errors.js"
import { adapterOver, collect, ctxOf, errorContextOf, live, modelOf } from "./internal/fixtures.js"

const model = ModelMetadata.make({ ...modelOf("ollama", "llama3.2", "local-chat"), contextWindow: 4096 })
const setup = adapterOver(FakeOllama.make, Ollama.make)

const mlx = "input length (5000 tokens) exceeds the model's maximum context length (4096 tokens)"
const wordings = [
  JSON.stringify({ error: { code: 400, message: "request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it", type: "exceed_context_size_error" } }),
  "the input length exceeds the context length",
  mlx
]

describe("Ollama: a prompt over the context, in each engine's words", () => {
  it("every wording is ContextLengthExceeded", () => {
    for (const message of wordings) {
      const body = JSON.stringify({ error: message })
      const error = classify(errorContextOf("ollama", { model: "m", keyId: undefined, secrets: [] }, 400, body, { excerpt: body }))
      assert.strictEqual(error._tag, "ContextLengthExceeded", message)
    }
  })

  it.scoped("the MLX engine's 400, chat and stream, is ContextLengthExceeded", () =>
    live(Effect.gen(function*() {
      const { fake, provider } = yield* setup({ maxRetries: 0 })
      const refusal = Fault.status(400, { body: { error: mlx } })
      yield* fake.script(refusal, refusal)
      const chat = yield* Effect.flip(provider.chat(ctxOf(model, undefined)))
      assert.strictEqual(chat._tag, "ContextLengthExceeded", chat.message)
      const streamed = yield* Effect.flip(Effect.flatMap(provider.stream(ctxOf(model, undefined)), (r) => collect(r.chunks)))
      assert.strictEqual(streamed._tag, "ContextLengthExceeded", streamed.message)
    })))
})
