/**
 * Micro benchmark of the Anthropic, Gemini and Ollama adapters: `chat` and
 * `stream` (drained to its end) against their testkit fakes (real wire
 * formats over a loopback socket, a three-piece answer), sequential calls
 * after warm-up, with Effect's tracer off as in `modelgate serve`. Prints per
 * call: CPU time (best and median of blocks), Effect ops and fibers (the
 * patched runtime's `globalThis.__mg` counter). The fakes run in this process,
 * so the numbers include their work: compare before/after on this bench only.
 *
 *   node --import tsx bench/micro-provider-streams.ts [calls per block] [providers,...] [chat|stream|both] [adapters dir]
 *
 * Runs on the packages' `dist`: build first (`npx tsc -b`). For an A/B of two
 * versions of the adapters, pass a directory holding a copy of
 * packages/providers/src (run from TS by tsx; symlink node_modules next to it).
 */
import type { ChatRequest } from "@modelgate/domain/Chat"
import { NodeHttpClient } from "@effect/platform-node"
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { Provider } from "@modelgate/core/Provider"
import { ModelId, ProviderId } from "@modelgate/domain/Ids"
import { ModelMetadata, Pricing, RateLimits } from "@modelgate/domain/Model"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import { Chunk, Effect, Redacted, Stream } from "effect"
import { measure } from "./measure.js"

// tsx turns source maps on; the gateway runs plain `node` on dist.
process.setSourceMapsEnabled(false)
const perBlock = Number(process.argv[2] ?? "1000")
const only = (process.argv[3] ?? "anthropic,google,ollama").replace("all", "anthropic,google,ollama").split(",")
const modes = process.argv[4] === "chat" ? ["chat"] : process.argv[4] === "stream" ? ["stream"] : ["chat", "stream"]
const adapters = process.argv[5]
type Adapter = typeof import("@modelgate/providers/Anthropic")
const load = (name: string): Promise<Adapter> =>
  import(adapters === undefined ? `@modelgate/providers/${name}` : `${adapters}/${name}.ts`) as Promise<Adapter>
const [Anthropic, Google, Ollama] = await Promise.all([load("Anthropic"), load("Google"), load("Ollama")])

const modelOf = (provider: string, providerModel: string) =>
  ModelMetadata.make({
    id: ModelId.make(`${provider}-bench`),
    provider: ProviderId.make(provider),
    providerModel,
    displayName: providerModel,
    capabilities: ["chat", "streaming"],
    contextWindow: 128_000,
    maxOutputTokens: 1_024,
    pricing: Pricing.make({ inputPerMillion: 1, outputPerMillion: 2 }),
    rateLimits: RateLimits.make({ rpm: 1_000_000, tpm: 1_000_000_000 }),
    qualityTier: "standard",
    qualityScore: 0.7
  })

const ctxOf = (provider: string, providerModel: string, key: string | undefined) => {
  const model = modelOf(provider, providerModel)
  return {
    model,
    key: key === undefined ? undefined : { id: `${provider}#0`, value: Redacted.make(key) },
    request: { model: model.id, messages: [{ role: "user", content: "hello there" }] } satisfies ChatRequest
  }
}

/** Time `once` and print its line. */
const report = (name: string, once: Effect.Effect<unknown, unknown>) =>
  Effect.flatMap(measure(name.padEnd(18), once, perBlock), (line) => Effect.sync(() => process.stdout.write(`${line}\n`)))

const run = (name: string, provider: Provider, ctx: ReturnType<typeof ctxOf>, expectChunks: number) =>
  Effect.gen(function*() {
    const chat = provider.chat(ctx)
    const stream = Effect.flatMap(provider.stream({ ...ctx, request: { ...ctx.request, stream: true } }), (r) => Stream.runCollect(r.chunks))
    const answer = yield* chat
    if (answer.response.choices[0]?.finish_reason !== "stop") throw new Error(`${name}: unexpected answer`)
    const chunks = yield* stream
    if (Chunk.size(chunks) !== expectChunks) throw new Error(`${name}: expected ${expectChunks} chunks, got ${Chunk.size(chunks)}`)
    if (modes.includes("chat")) yield* report(`${name} chat`, chat)
    if (modes.includes("stream")) yield* report(`${name} stream`, stream)
  })

const config = (baseUrl: string) => Effect.succeed(ProviderConfig.make({ baseUrl, maxRetries: 0 }))

const program = Effect.gen(function*() {
  // A short answer of a few events each (role, text deltas, finish, usage: the chunk count is checked).
  if (only.includes("anthropic")) {
    const fake = yield* FakeAnthropic.make()
    const provider = yield* Anthropic.make(config(fake.url))
    yield* run("anthropic", provider, ctxOf("anthropic", "claude-fake-1", FakeAnthropic.defaultApiKey), 6)
  }
  if (only.includes("google")) {
    const fake = yield* FakeGoogle.make()
    const provider = yield* Google.make(config(fake.url))
    yield* run("google", provider, ctxOf("google", "gemini-fake-1", FakeGoogle.defaultApiKey), 5)
  }
  if (only.includes("ollama")) {
    const fake = yield* FakeOllama.make()
    const provider = yield* Ollama.make(config(fake.url))
    yield* run("ollama", provider, ctxOf("ollama", "llama3.2", undefined), 8)
  }
})

await Effect.runPromise(program.pipe(Effect.scoped, Effect.withTracerEnabled(false), Effect.provide(NodeHttpClient.layerUndici)))
