/**
 * A fake Ollama server on `FakeServer`: `POST /api/chat` (NDJSON by default,
 * one object with `stream: false`), `GET /api/tags`, `GET /api/version`,
 * Ollama's validation and `{"error": "..."}` bodies, deterministic answers
 * with `prompt_eval_count` / `eval_count`, tool calls with object arguments.
 * See packages/testkit/README.md for what is covered.
 */
import { Effect, type Scope } from "effect"
import { type Answer, Fault, type FakeServer, make as makeServer, type RecordedRequest } from "./FakeServer.js"
import { countTokens, isRecord, pieces as wordPieces } from "./FakeServer/reply.js"

/** Options of the fake. */
export interface FakeOllamaOptions {
  /** Installed models (default `llama3.2:latest`, `qwen2.5:7b`); `llama3.2` matches `llama3.2:latest`. */
  readonly models?: ReadonlyArray<string>
  /** The context size a model is loaded with when the request sets no `options.num_ctx` (Ollama's default: 4096). */
  readonly contextSize?: number
}

type Json = Record<string, unknown>
const createdAt = "2025-07-07T20:32:53.844Z"

/** Ollama's error body for a status (no retry headers: Ollama sends none). */
export const errorAnswer = ({ message, status }: { status: number; message: string; retryAfterMs?: number }) => ({
  body: JSON.stringify({
    error: status === 503 ? "server busy, please try again.  maximum pending requests exceeded" : message
  }),
  headers: {}
})

/** Ollama-specific faults. */
export const faults = {
  /** 503 `server busy` (local queue full). */
  busy: Fault.status(503, { body: { error: "server busy, please try again.  maximum pending requests exceeded" } }),
  /** 500 for a model too large for the memory the server has free (`llm/server.go`, answered before any output). */
  outOfMemory: Fault.status(500, { body: { error: "model requires more system memory (39.4 GiB) than is available (30.0 GiB)" } }),
  /** 500 for a model this server's version cannot load (`server/sched.go`, answered before any output, on every call). */
  incompatibleModel: Fault.status(500, {
    body: {
      error: "unsupported model format: this model may be incompatible with your version of Ollama. If you previously pulled this model, try updating it by running `ollama pull llama3.2`"
    }
  }),
  /** An `{"error": "..."}` line after `afterChunks` lines (status stays 200); no `done: true` follows. */
  midStreamError: (afterChunks: number, message = "an error was encountered while running the model: unexpected EOF"): Fault =>
    Fault.inject(afterChunks, `${JSON.stringify({ error: message })}\n`)
} as const

const resolveModel = (models: ReadonlyArray<string>, name: string) =>
  models.find((m) => m === name || m === `${name}:latest`)

/** Models that think (Ollama answers `think` on any other with a 400). */
const thinkingModel = /^(qwen3|deepseek-r1|gpt-oss|magistral)/

/** The problem with a `think` value on `model`, as Ollama words it, or undefined. */
const thinkingProblem = (think: unknown, model: string): string | undefined => {
  if (think === undefined || think === false) return undefined
  if (think !== true && !(typeof think === "string" && ["low", "medium", "high", "max"].includes(think))) {
    return `invalid think value: ${JSON.stringify(think)} (must be a boolean or "low", "medium", "high", "max")`
  }
  return thinkingModel.test(model) ? undefined : `"${model}" does not support thinking`
}

/** Start a fake Ollama server, closed with the scope. */
export const make = (options: FakeOllamaOptions = {}): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const defaultContextSize = options.contextSize ?? 4096
    const models = options.models ?? ["llama3.2:latest", "qwen2.5:7b"]

    const json = (status: number, body: unknown, tokensUsed?: number): Answer => ({
      _tag: "Json",
      status,
      body,
      ...(tokensUsed !== undefined ? { tokens: tokensUsed } : {})
    })
    const error = (status: number, message: string) => json(status, { error: message })

    const handle = (request: RecordedRequest): Answer => {
      const path = request.path.split("?")[0]
      if (request.method === "GET" && path === "/api/tags") {
        return json(200, {
          models: models.map((name) => ({
            name,
            model: name,
            modified_at: createdAt,
            size: 2_019_393_189,
            digest: "a80c4f17acd5",
            details: { format: "gguf", family: "llama", parameter_size: "3.2B", quantization_level: "Q4_K_M" }
          }))
        })
      }
      if (request.method === "GET" && path === "/api/version") return json(200, { version: "0.12.0" })
      if (request.method === "GET" && path === "/") return json(200, "Ollama is running")
      if (request.method !== "POST" || path !== "/api/chat") return error(404, "404 page not found")
      return chat(request)
    }

    const chat = (request: RecordedRequest): Answer => {
      const body = request.json
      if (!isRecord(body)) return error(400, "invalid character 'x' looking for beginning of value")
      if (typeof body.model !== "string" || body.model.length === 0) return error(400, "model is required")
      const model = resolveModel(models, body.model)
      if (model === undefined) return error(404, `model '${body.model}' not found`)
      const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : []
      for (const m of messages) {
        if (m.content !== undefined && typeof m.content !== "string") {
          return error(400, "json: cannot unmarshal array into Go struct field Message.messages.content of type string")
        }
        if (m.role === "assistant" && Array.isArray(m.tool_calls)) {
          for (const call of m.tool_calls) {
            if (!isRecord(call) || !isRecord(call.function) || !isRecord(call.function.arguments)) {
              return error(400, "json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments")
            }
          }
        }
      }
      const thinkProblem = thinkingProblem(body.think, body.model)
      if (thinkProblem !== undefined) return error(400, thinkProblem)
      const options = isRecord(body.options) ? body.options : {}
      const prompt = messages.map((m) => `${String(m.role)}\n${String(m.content ?? "")}`).join("\n")
      const last = messages[messages.length - 1] ?? {}
      const lastText = String(last.content ?? "")
      const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : []
      const wanted = last.role === "user"
        ? tools.map((t) => (isRecord(t.function) ? String(t.function.name) : "")).find((n) => n.length > 0 && lastText.includes(n))
        : undefined
      const toolCalls = wanted !== undefined ? [{ function: { index: 0, name: wanted, arguments: { input: lastText } } }] : []
      let content = last.role === "tool"
        ? `Tool result received: ${lastText}`
        : body.format !== undefined
        ? JSON.stringify({ answer: `fake ollama answer to: ${lastText}` })
        : `fake ollama answer to: ${lastText}`
      if (toolCalls.length > 0) content = ""
      let doneReason = "stop"
      if (typeof options.num_predict === "number" && countTokens(content) > options.num_predict) {
        content = content.slice(0, options.num_predict * 4)
        doneReason = "length"
      }
      // Over the context size Ollama cuts the conversation from the front, or answers a 400 with `truncate: false`.
      const contextSize = typeof options.num_ctx === "number" ? options.num_ctx : defaultContextSize
      const promptTokens = countTokens(prompt)
      if (promptTokens > contextSize && body.truncate === false) {
        const message = `request (${promptTokens} tokens) exceeds the available context size (${contextSize} tokens), try increasing it`
        return error(400, JSON.stringify({ error: { code: 400, message, type: "exceed_context_size_error", n_prompt_tokens: promptTokens, n_ctx: contextSize } }))
      }
      const promptEval = Math.min(promptTokens, contextSize)
      const evalCount = toolCalls.length > 0 ? countTokens(JSON.stringify(toolCalls)) : countTokens(content)
      const metrics = {
        total_duration: 3_244_883_583,
        load_duration: 2_969_184_542,
        prompt_eval_count: promptEval,
        prompt_eval_duration: 141_656_333,
        eval_count: evalCount,
        eval_duration: 133_293_625
      }
      const used = promptEval + evalCount
      if (body.stream === false) {
        return json(200, {
          model,
          created_at: createdAt,
          message: { role: "assistant", content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
          done: true,
          done_reason: doneReason,
          ...metrics
        }, used)
      }
      const line = (value: Json) => `${JSON.stringify({ model, created_at: createdAt, ...value })}\n`
      const pieces = wordPieces(content)
      const chunks = [
        ...pieces.map((piece) => line({ message: { role: "assistant", content: piece }, done: false })),
        ...(toolCalls.length > 0 ? [line({ message: { role: "assistant", content: "", tool_calls: toolCalls }, done: false })] : []),
        line({ message: { role: "assistant", content: "" }, done: true, done_reason: doneReason, ...metrics })
      ]
      return { _tag: "Stream", contentType: "application/x-ndjson", chunks, terminalChunks: 1, tokens: used }
    }

    return yield* makeServer({ name: "ollama", handle, errorAnswer })
  })
