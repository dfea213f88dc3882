/**
 * The OpenAI adapter against the bench upstream, as the adapter micro
 * benchmarks (`micro-provider-openai.ts`, `micro-client-provider.ts`,
 * `micro-client-trace.ts`) set it up: the first model of
 * bench/config/models.json, one "Say hello." request, a fixed key.
 */
import { ProviderConfig } from "@modelgate/core/GatewayConfigSchema"
import type { CallContext } from "@modelgate/core/Provider"
import { ModelMetadata } from "@modelgate/domain/Model"
import { Channel, Chunk, Effect, Either, Redacted, Schema, Scope, Stream } from "effect"
import * as fs from "node:fs"

/** The adapter module (packages/providers/src/OpenAi.ts or an A/B copy of it). */
export type OpenAiModule = typeof import("../packages/providers/src/OpenAi.js")

/** The adapter module from `MG_OPENAI_SRC` (another copy of the providers' src, an A/B baseline), else packages/providers/src. */
export const loadOpenAi = (): Promise<OpenAiModule> =>
  import(`${process.env["MG_OPENAI_SRC"] ?? "../packages/providers/src"}/OpenAi.ts`)

const model = Schema.decodeUnknownSync(ModelMetadata)(JSON.parse(fs.readFileSync("bench/config/models.json", "utf8")).models[0])

/** The adapter of `OpenAi` at the upstream on `port`, and the call context of one request (streamed when `stream`). */
export const openAiAdapter = (OpenAi: OpenAiModule, port: string, stream: boolean) =>
  Effect.map(OpenAi.make(Effect.succeed(ProviderConfig.make({ baseUrl: `http://127.0.0.1:${port}/v1` }))), (provider) => {
    const ctx: CallContext = {
      request: { model: "gpt-4o-mini", messages: [{ role: "user", content: "Say hello." }], stream },
      model,
      key: { id: "openai#0", value: Redacted.make("k") }
    }
    return { provider, ctx }
  })

/** Drain `chunks` pulled in the caller's fiber, as the gateway's SSE writer does: how many chunks came. */
export const pulled = (chunks: Stream.Stream<unknown, unknown>): Effect.Effect<number, unknown> =>
  Effect.flatMap(Scope.make(), (scope) => {
    let n = 0
    const step = (pull: Effect.Effect<Either.Either<Chunk.Chunk<unknown>, unknown>, unknown>): Effect.Effect<number, unknown> =>
      Effect.flatMap(pull, (next) => {
        if (Either.isLeft(next)) return Effect.succeed(n)
        n += Chunk.size(next.right)
        return step(pull)
      })
    return Effect.flatMap(Channel.toPullIn(Stream.toChannel(chunks), scope), step).pipe(
      Effect.onExit((exit) => Scope.close(scope, exit))
    )
  })
