/**
 * `modelgate demo`: the testkit fake providers in-process and the gateway
 * pointed at them, so a new user sees selection, rate limiting, failover and
 * costs work within a minute, without any key.
 *
 * The fakes are lifelike: 80-250 ms before headers, 20-40 ms between stream
 * chunks; OpenAI enforces 20 requests per minute (the demo registry says so
 * too, so the gateway's own limiter warns at 90% and routes around it) and
 * answers one request in five with a 503 (watch the failover to the model's
 * fallback); Gemini answers 503 for its first 40 seconds, then recovers (watch
 * the health checker mark it unavailable, then available). A background load
 * sends an `auto` request and a `gpt-4o-mini` request every two seconds for
 * two minutes; every gateway event is printed.
 */
import { Events } from "@modelgate/core/Events"
import { Gateway } from "@modelgate/core/Gateway"
import * as GatewayLive from "@modelgate/node/GatewayLive"
import * as FakeAnthropic from "@modelgate/testkit/FakeAnthropic"
import * as FakeGoogle from "@modelgate/testkit/FakeGoogle"
import * as FakeOllama from "@modelgate/testkit/FakeOllama"
import * as FakeOpenAi from "@modelgate/testkit/FakeOpenAi"
import { Fault } from "@modelgate/testkit/FakeServer"
import type { Priority } from "@modelgate/domain/Requirements"
import { HttpServer } from "@effect/platform"
import { Config, ConfigProvider, Console, Context, Data, Effect, Layer, Option, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as HttpApp from "../HttpApp.js"
import * as Tracing from "./Tracing.js"

/** What `modelgate demo` is given. */
export interface DemoOptions {
  /** `--port` / `PORT`, else the configured port. */
  readonly port: number | undefined
  readonly host: string | undefined
}

interface RawModel {
  readonly id: string
  readonly provider: string
  readonly providerModel: string
  readonly rateLimits: { readonly rpm: number; readonly tpm: number }
  readonly [key: string]: unknown
}

/** The demo could not start (a message for the user; the CLI prints it and exits 1). */
export class DemoFailure extends Data.TaggedError("DemoFailure")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/** The shipped registry, with OpenAI's limits lowered to what the fake enforces. */
const demoRegistry = (source: string) =>
  Effect.try({
    try: () => {
      const file = JSON.parse(fs.readFileSync(source, "utf8")) as { readonly models: ReadonlyArray<RawModel> }
      return {
        source: `demo copy of ${source}`,
        models: file.models.map((m) => (m.provider === "openai" ? { ...m, rateLimits: { rpm: openAiRpm, tpm: 200_000 } } : m))
      }
    },
    catch: (e) =>
      new DemoFailure({
        reason: `cannot read the model registry ${source} (${e instanceof Error ? e.message : String(e)}): ` +
          "run the demo from the repository root"
      })
  })

const openAiRpm = 20

const lifelike = Fault.delay({ headersMs: 120, firstByteMs: 60, chunkMs: 25 })

/** One line of the demo's event log: the event's tag and the fields it has (numbers rounded). */
export const describeEvent = (event: { readonly _tag: string } & Record<string, unknown>) => {
  const { _tag, at: _at, ...rest } = event
  const fields = Object.entries(rest).filter(([, v]) => v !== undefined)
  return `${_tag} ${fields.map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 1e6) / 1e6 : String(v)}`).join(" ")}`
}

/** What the banner needs to know. */
export interface BannerOptions {
  /** Where the gateway really listens. */
  readonly address: HttpServer.Address
  /** `MODELGATE_MASTER_KEY` is set (environment or `.env`): `/v1/*` needs it. */
  readonly masterKey: boolean
  /** It is in the shell's environment (not only in `.env`), so `$MODELGATE_MASTER_KEY` expands. */
  readonly masterKeyInShell: boolean
}

/** The banner: the URL the gateway listens on and curl commands that work against it (the key itself is never printed). */
export const banner = (options: BannerOptions): string => {
  const address = options.address
  const base = address._tag === "UnixAddress"
    ? `--unix-socket ${address.path} http://localhost`
    : `http://${address.hostname === "0.0.0.0" || address.hostname === "::" ? "127.0.0.1" : address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
  const auth = options.masterKey ? ` -H "Authorization: Bearer $MODELGATE_MASTER_KEY"` : ""
  return [
    "",
    `modelgate demo: the gateway is on ${base} in front of fake OpenAI, Anthropic, Gemini and Ollama servers.`,
    "Try:",
    `  curl -s ${base}/v1/chat/completions${auth} -H 'content-type: application/json' \\`,
    `    -d '{"model":"auto","messages":[{"role":"user","content":"Hello!"}],"modelgate":{"priority":"LOW"}}' -i`,
    `  curl -s ${base}/v1/models${auth}`,
    `  curl -s ${base}/v1/metrics${auth}`,
    // A browser cannot reach a Unix socket.
    ...(address._tag === "UnixAddress" ? [] : [`Dashboard: ${base}/dashboard${options.masterKey ? " (type the master key into its form)" : ""}`]),
    ...(options.masterKey && !options.masterKeyInShell
      ? ["(MODELGATE_MASTER_KEY is set in .env only: export it in this shell first, e.g. `set -a; . ./.env; set +a`)"]
      : []),
    "Background load for two minutes: an auto and a gpt-4o-mini request every 2 s. Ctrl-C stops the demo.",
    ""
  ].join("\n")
}

/**
 * Run the demo until interrupted (Ctrl-C). With an OTLP collector in the
 * environment (as for `serve`: `OTEL_EXPORTER_OTLP_ENDPOINT`, Tracing.ts), the
 * chat calls it serves over HTTP are traced (its own background load, which
 * calls the gateway in-process, is not).
 */
export const runDemo = (options: DemoOptions): Effect.Effect<void, unknown> =>
  Effect.provide(demo(options), Tracing.fromEnv)

const demo = (options: DemoOptions): Effect.Effect<void, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const registry = yield* demoRegistry(path.resolve("config/models.json"))
      const modelsOf = (provider: string) => registry.models.filter((m) => m.provider === provider).map((m) => m.providerModel)
      const openai = yield* FakeOpenAi.make({ models: modelsOf("openai") })
      const anthropic = yield* FakeAnthropic.make()
      const google = yield* FakeGoogle.make({ models: modelsOf("google") })
      const ollama = yield* FakeOllama.make({ models: modelsOf("ollama") })
      for (const fake of [openai, anthropic, ollama]) yield* fake.persist(lifelike)
      yield* openai.setRateLimit({ rpm: openAiRpm })
      yield* google.persist(Fault.status(503))
      yield* Effect.forkScoped(
        Effect.sleep("40 seconds").pipe(
          Effect.zipRight(google.persist(lifelike)),
          Effect.zipRight(Console.log("demo: the fake Gemini recovers now"))
        )
      )

      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "modelgate-demo-"))),
        (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
      )
      fs.writeFileSync(path.join(dir, "models.json"), JSON.stringify(registry, null, 2))
      fs.writeFileSync(
        path.join(dir, "gateway.json"),
        JSON.stringify({
          database: { filename: path.join(dir, "demo.db") },
          providers: {
            openai: { baseUrl: openai.baseUrl, maxRetries: 0 },
            anthropic: { baseUrl: anthropic.baseUrl, maxRetries: 1 },
            google: { baseUrl: google.baseUrl, maxRetries: 0 },
            ollama: { baseUrl: ollama.url, maxRetries: 1 }
          },
          healthCheck: { intervalMs: 5_000, failureThreshold: 2, backoffCapMs: 10_000, timeoutMs: 2_000 },
          failover: { queueDeadlineMs: 5_000 },
          cache: { enabled: true },
          evaluator: { enabled: true }
        })
      )
      // The fakes' keys and addresses over what the command was given (the environment, then .env):
      // a user's OLLAMA_HOST, *_BASE_URL or real keys (GOOGLE_API_KEY, numbered extras) are for
      // `serve`, never for the demo (nor MODELGATE_DB: the demo's database is its own, below; nor MODELGATE_ENV).
      // An empty value is no key, and stops the numbered ones.
      const ambient = yield* Effect.configProviderWith(Effect.succeed)
      const keys = ConfigProvider.fromMap(
        new Map([
          ["OPENAI_API_KEY", "sk-test-openai"],
          ["ANTHROPIC_API_KEY", anthropic.apiKey],
          ["GEMINI_API_KEY", google.apiKey],
          ...["OPENAI_API_KEY_1", "ANTHROPIC_API_KEY_1", "GEMINI_API_KEY_1", "GOOGLE_API_KEY", "GOOGLE_API_KEY_1"].map(
            (name) => [name, ""] as const
          ),
          ["OPENAI_BASE_URL", openai.baseUrl],
          ["ANTHROPIC_BASE_URL", anthropic.baseUrl],
          ["GEMINI_BASE_URL", google.baseUrl],
          ["OLLAMA_HOST", ollama.url]
        ])
      ).pipe(ConfigProvider.orElse(() => ambient))
      // No overlay: the user's MODELGATE_ENV names one of their directory, not of the demo's ("" is none).
      const app = GatewayLive.layerWith({ configDirectory: dir, environment: "", watch: false, databaseFile: path.join(dir, "demo.db") }).pipe(
        Layer.provide(Layer.setConfigProvider(keys))
      )

      yield* Effect.gen(function* () {
        const events = yield* Events
        yield* events.subscribe.pipe(
          Stream.filter((e) => e._tag !== "ModelSelected"),
          Stream.runForEach((e) => Console.log(`event  ${describeEvent(e as never)}`)),
          Effect.forkScoped
        )
        const server = Context.get(yield* Layer.build(HttpApp.serve({ port: options.port, host: options.host })), HttpServer.HttpServer)
        // What Auth reads (the environment, then .env): the curl commands need its header.
        const masterKey = yield* Config.option(Config.redacted("MODELGATE_MASTER_KEY")).pipe(Effect.orElseSucceed(() => Option.none()))
        const inShell = yield* Config.option(Config.string("MODELGATE_MASTER_KEY")).pipe(
          Effect.withConfigProvider(ConfigProvider.fromEnv()),
          Effect.orElseSucceed(() => Option.none())
        )
        yield* Console.log(banner({ address: server.address, masterKey: Option.isSome(masterKey), masterKeyInShell: Option.isSome(inShell) }))
        const gateway = yield* Gateway
        const priorities: ReadonlyArray<Priority> = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
        const ask = (n: number, model: string, priority: Priority) =>
          gateway
            .complete(
              { model, messages: [{ role: "user", content: `Demo question ${n}: what is ${n} squared?` }] },
              { capabilities: ["chat"], priority },
              {}
            )
            .pipe(
              Effect.flatMap(({ meta }) =>
                Console.log(
                  `request ${String(n).padStart(3)} ${model.padEnd(11)} ${priority.padEnd(8)} -> ${meta.model} (${meta.provider}) failovers=${meta.failovers} cache=${meta.cacheHit ? "hit" : "miss"} cost=$${(meta.costUsd ?? 0).toFixed(6)}`
                )
              ),
              Effect.catchAll((e) => Console.log(`request ${String(n).padStart(3)} ${model.padEnd(11)} ${priority.padEnd(8)} -> ${e._tag}: ${e.message}`))
            )
        // Requests are numbered as sent: every fifth tick sends only the gpt-4o-mini one, with a 503 scripted for it.
        let tick = 0
        let sent = 0
        const next = (model: string, priority: Priority) => Effect.suspend(() => ask(++sent, model, priority))
        yield* Effect.suspend(() => {
          tick += 1
          if (tick % 5 === 0) return Effect.zipRight(openai.script(Fault.status(503)), next("gpt-4o-mini", "MEDIUM"))
          return Effect.zipRight(next("auto", priorities[tick % priorities.length]!), next("gpt-4o-mini", "MEDIUM"))
        }).pipe(Effect.repeat(Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(59)))), Effect.forkScoped)
        return yield* Effect.never
        // Scoped inside the gateway: on Ctrl-C the server drains, and the event printer and the
        // background load stop, before the gateway's layers (record writer, database) close.
      }).pipe(Effect.scoped, Effect.provide(app))
    })
  )
