/**
 * Shared setup of the micro-core-* benchmarks: GatewayLive on bench/config
 * (SQLite records in a temporary directory, removed at exit) with a provider
 * double that answers at once; its stream emits 4 chunks, the last with usage.
 */
import type { ChatChunk, ChatRequest } from "@modelgate/domain/Chat"
import { type Provider, Providers } from "@modelgate/core/Provider"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import { ConfigProvider, Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { textChunk } from "../packages/core/test/ChunkFixtures.js"


const chunks: ReadonlyArray<ChatChunk> = [textChunk("hel"), textChunk("lo"), textChunk("!"), textChunk(undefined, "stop", { prompt: 3, completion: 3 })]

/** The provider double: answers at once, as OpenAI would. */
export const double: Provider = {
  id: "openai",
  requiresKey: true,
  chat: (ctx) =>
    Effect.succeed({
      response: {
        id: "x",
        object: "chat.completion",
        created: 0,
        model: ctx.model.providerModel,
        choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 }
      },
      rateLimit: undefined,
      providerRequestId: undefined
    }),
  stream: () => Effect.succeed({ chunks: Stream.fromIterable(chunks), rateLimit: undefined, providerRequestId: undefined }),
  probe: () => Effect.succeed({ ok: true, latencyMs: 0, error: undefined })
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-micro-"))
const db = path.join(dir, "m.db")
/** GatewayLive on bench/config with `provider` as its only provider. */
export const layerWith = (provider: Provider) =>
  GatewayLive.layerWith({
    configDirectory: "bench/config",
    watch: false,
    providers: Layer.succeed(Providers, Providers.fromList([provider]))
  }).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", "k"], ["MODELGATE_DB", db]]))))
  )
/** GatewayLive on bench/config with the double. */
export const layer = layerWith(double)
export const request: ChatRequest = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }] }
export const requirements = { capabilities: [], priority: "MEDIUM" } as const
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
