/**
 * The `modelgate` command line: `serve`, `models`, `costs`, `config validate`,
 * `keys new`, `demo`. The service layer comes from a function (`runtime.ts`
 * `makeAppLayer` in production, a double in tests).
 */
import { Args, Command, Options } from "@effect/cli"
import { HttpServer } from "@effect/platform"
import * as ApiKeys from "@modelgate/core/ApiKeys"
import { ModelRegistry } from "@modelgate/core/ModelRegistry"
import { maxLabelLength } from "@modelgate/domain/Requirements"
import { Clock, Config, Console, Context, Data, Effect, FiberRef, identity, Layer, Logger, LogLevel, Option } from "effect"
import * as HttpApp from "../HttpApp.js"
import * as BadUsage from "./BadUsage.js"
import { runDemo } from "./demo.js"
import { describeNewKey, newVirtualKey } from "./Keys.js"
import { atLevel, configuredLevel, envLevel, followConfig, type LiveLogLevel, logLevelFlag, takeLogLevel, withLiveLevel } from "./LogLevel.js"
import { reportUnwritten } from "./RecordsAtExit.js"
import * as Tracing from "./Tracing.js"
import { version } from "./Version.js"
import type { AppLayer, AppLayerOptions } from "./runtime.js"
import { CostTracker } from "@modelgate/core/CostTracker"
import { type StartOverride, validate as validateConfig } from "@modelgate/core/GatewayConfig"
import { directoryFromEnv } from "@modelgate/core/GatewayConfig/Directory"
import { groupings, parseInstant } from "../http/Metrics.js"

/** A command failed with a message for the user (exit code 1). */
export class CliFailure extends Data.TaggedError("CliFailure")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

const portFlag = BadUsage.integerFlag("port", { min: 0, max: 65535 })
const rpmFlag = BadUsage.integerFlag("rpm", { min: 1 })
const byFlag = BadUsage.choiceFlag("by", ["model", "provider", "day", "agent"])
const sinceFlag = BadUsage.textFlag("since", "30m, 24h, 7d, an ISO date or epoch ms")
const nameFlag = BadUsage.textFlag("name", "the team or client the key is for, not blank")

/**
 * Every flag of the commands that takes a value, and @effect/cli's built-in
 * ones: `run` names one given without its value, or with a value it refuses,
 * before @effect/cli parses the command line.
 */
export const valueFlags: ReadonlyArray<BadUsage.ValueFlag> = [
  portFlag,
  rpmFlag,
  byFlag,
  // Never empty: Node would listen on every interface, not on 127.0.0.1.
  { ...BadUsage.textFlag("host", "an interface address, e.g. 127.0.0.1 or 0.0.0.0, not empty"), accepts: (raw) => /^\S+$/.test(raw) },
  // Never blank: "" would read the working directory; an unset MODELGATE_CONFIG_DIR or no flag means ./config.
  { ...BadUsage.textFlag("config", "a configuration directory, not empty (leave the flag out for MODELGATE_CONFIG_DIR, then ./config)"), accepts: (raw) => raw.trim() !== "" },
  sinceFlag,
  nameFlag,
  // As a request's own agent type: the entry printed with a longer one would not load.
  { ...BadUsage.textFlag("agent-type", `an agent type of at most ${maxLabelLength} characters`), accepts: (raw) => raw.trim().length <= maxLabelLength },
  BadUsage.textFlag("model", "a registry model"),
  logLevelFlag,
  BadUsage.choiceFlag("completions", ["sh", "bash", "fish", "zsh"])
]

/** The flags without a value: @effect/cli's built-in ones (the commands have none of their own). */
const switches: ReadonlyArray<string> = ["help", "version", "wizard"]

const port = BadUsage.integer(portFlag).pipe(
  Options.withDescription("port to listen on (default: PORT, then server.port of the config, 8787)"),
  Options.withFallbackConfig(Config.integer("PORT")),
  Options.optional
)
const host = Options.text("host").pipe(
  Options.withDescription("interface to listen on (default: HOST, then server.host of the config, 127.0.0.1)"),
  Options.withFallbackConfig(Config.string("HOST")),
  Options.optional
)
const configDir = Options.directory("config").pipe(
  Options.withDescription("configuration directory (default: MODELGATE_CONFIG_DIR, then ./config)"),
  // The default lives inside the fallback (unset or blank: `config`): a `withDefault` after `withFallbackConfig`
  // never sees the missing variable (the fallback fails with "Missing data at MODELGATE_CONFIG_DIR" first).
  Options.withFallbackConfig(directoryFromEnv("./config"))
)

/**
 * The configuration directory and the environment overlay (`MODELGATE_ENV`). The database is where the
 * configuration puts it (`database.filename`, which `MODELGATE_DB` overrides, or `MODELGATE_DATABASE_URL`):
 * `serve` makes a SQLite file's directory when it opens it (`Sqlite.layer`); `models` and `costs` only read.
 */
const appOptions = (dir: string) =>
  Effect.gen(function* () {
    const env = yield* Config.option(Config.string("MODELGATE_ENV"))
    return { configDir: dir, env: Option.getOrUndefined(env) } satisfies AppLayerOptions
  }).pipe(Effect.catchTag("ConfigError", (e) => Effect.fail(new CliFailure({ reason: `invalid environment: ${e.message}` }))))

/** The start-only settings `--port` and `--host` set, as the reload warning names them. */
const cliOverrides = (args: { readonly port: Option.Option<number>; readonly host: Option.Option<string> }): ReadonlyArray<StartOverride> => [
  ...(Option.isSome(args.port) ? [{ field: "server.port", by: "--port" }] : []),
  ...(Option.isSome(args.host) ? [{ field: "server.host", by: "--host" }] : [])
]

/**
 * Pico-dollars as exact USD: at least 6 places, up to 12 when the amount has them (`$0.0000004`, not
 * `$0.000000`), so the rows of `costs` add up to its total.
 */
const usd = (pico: bigint) => {
  const fraction = (pico % 1_000_000_000_000n).toString().padStart(12, "0").replace(/0{1,6}$/, "")
  return `$${pico / 1_000_000_000_000n}.${fraction}`
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)))
  return Effect.forEach([header, ...rows], (row) => Console.log(row.map((c, i) => pad(c, widths[i]!)).join("  ").trimEnd()), { discard: true })
}

/**
 * Where the commands get their services: one function for all (tests), or the
 * full gateway for `serve` and the smallest layers `models` and `costs` need.
 */
export type AppSource =
  | ((options: AppLayerOptions) => AppLayer)
  | {
    readonly app: (options: AppLayerOptions) => AppLayer
    readonly registry: (options: AppLayerOptions) => Layer.Layer<ModelRegistry, unknown>
    readonly costs: (options: AppLayerOptions) => Layer.Layer<CostTracker, unknown>
  }

/** How the command line was given (what `make` cannot see from its parsed options). */
export interface MakeOptions {
  /** `--log-level` was given: it wins over `MODELGATE_LOG_LEVEL` and the config's `logLevel`. */
  readonly logLevelFlag?: boolean | undefined
}

/**
 * The address is printed whatever the log level: above `info` the server's own
 * "modelgate listening on" line is filtered out, but a user (and the bench
 * scripts, which read the port from it) still need it.
 */
const announce = (live: LiveLogLevel | undefined) => (context: Context.Context<HttpServer.HttpServer>) =>
  Effect.flatMap(live === undefined ? FiberRef.get(FiberRef.currentMinimumLogLevel) : Effect.sync(() => live.current), (level) =>
    LogLevel.greaterThan(level, LogLevel.Info)
      ? Console.log(`modelgate listening on ${HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)}`)
      : Effect.void)

/** Build the root command with the given source of services. */
export const make = (source: AppSource, make: MakeOptions = {}) => {
  const flag = make.logLevelFlag === true
  const makeAppLayer = typeof source === "function" ? source : source.app
  const makeRegistryLayer = typeof source === "function" ? source : source.registry
  const makeCostsLayer = typeof source === "function" ? source : source.costs
  const serve = Command.make("serve", { port, host, config: configDir }, (args) =>
    Effect.gen(function* () {
      // A PORT or HOST is applied over the files at every reload, so an edit never differs from it: what a
      // flag value still overrides at a reload is the flag's (the config's warning names it, GatewayConfig/StartOnly.ts).
      const options = { ...(yield* appOptions(args.config)), startOverrides: cliOverrides(args) }
      const level = flag ? Option.none() : yield* configuredLevel({ directory: options.configDir, environment: options.env })
      // The configuration's level is followed across reloads; one from the command line stays.
      const live: LiveLogLevel | undefined = Option.isSome(level) ? { current: level.value } : undefined
      const server = HttpApp.serve({ port: Option.getOrUndefined(args.port), host: Option.getOrUndefined(args.host) }).pipe(
        Layer.tap(announce(live))
      )
      // Records the record writer could not vouch for at close go to the ShutdownReport (RecordsAtExit.ts).
      return yield* reportUnwritten(makeAppLayer(options), (app) =>
        Layer.launch(
          (live === undefined ? server : Layer.merge(server, followConfig(live))).pipe(
            Layer.provide(app),
            // Without an OTLP collector in the environment the tracer is off: spans would only cost. With one,
            // the chat calls' spans are exported (Tracing.ts).
            Layer.provide(Tracing.fromEnv)
          )
        )
      ).pipe(live === undefined ? identity : withLiveLevel(live))
    })).pipe(Command.withDescription("run the OpenAI-compatible gateway until SIGTERM / SIGINT"))

  const models = Command.make("models", { config: configDir }, (args) =>
    Effect.gen(function* () {
      const options = yield* appOptions(args.config)
      const all = yield* Effect.provide(Effect.flatMap(ModelRegistry, (r) => r.all), makeRegistryLayer(options))
      const rows = all.map((m) => [
        m.id,
        m.provider,
        m.enabled ? "yes" : "no",
        `$${m.pricing.inputPerMillion} / $${m.pricing.outputPerMillion}`,
        String(m.contextWindow),
        m.capabilities.join(",")
      ])
      yield* table(["MODEL", "PROVIDER", "ENABLED", "PRICE IN/OUT PER 1M", "CONTEXT", "CAPABILITIES"], rows)
      yield* Console.log(`${all.length} model(s)`)
    })).pipe(Command.withDescription("list the models of the registry"))

  const costs = Command.make(
    "costs",
    {
      config: configDir,
      since: Options.text("since").pipe(
        Options.withDescription(
          "start of the range, included (the range runs up to now): 30m, 24h, 7d, an ISO date (its midnight; UTC unless it names a zone) or epoch ms (default: 24h)"
        ),
        Options.withDefault("24h")
      ),
      by: BadUsage.choice(byFlag).pipe(
        Options.withDescription("what the costs are grouped by (default: model)"),
        Options.withDefault("model" as const)
      )
    },
    (args) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const from = parseInstant(args.since, now)
        if (from === undefined) return yield* BadUsage.refuse(BadUsage.invalidValue(sinceFlag, args.since))
        const options = yield* appOptions(args.config)
        const groups = yield* Effect.provide(
          Effect.flatMap(CostTracker, (c) => c.costs({ from, groupBy: groupings[args.by]! })),
          makeCostsLayer(options)
        )
        if (groups.length === 0) return yield* Console.log(`no records since ${new Date(from).toISOString()}`)
        const rows = groups.map((g) => [
          g.key ?? "(none)",
          String(g.requests),
          String(g.cacheHits),
          String(g.promptTokens + g.completionTokens),
          String(g.cachedTokens),
          String(g.cacheWriteTokens),
          String(g.reasoningTokens),
          usd(g.costPicoUsd)
        ])
        // CACHE READS and CACHE WRITES are parts of TOKENS (of the prompt), REASONING too (of the completion).
        const header = [args.by.toUpperCase(), "REQUESTS", "CACHE HITS", "TOKENS", "CACHE READS", "CACHE WRITES", "REASONING", "COST"]
        yield* table(header, rows)
        const total = groups.reduce((sum, g) => sum + g.costPicoUsd, 0n)
        yield* Console.log(`total since ${new Date(from).toISOString()}: ${usd(total)}`)
      })
  ).pipe(Command.withDescription("costs over a range, grouped by model, provider, day or agent type"))

  const validate = Command.make(
    "validate",
    { dir: Args.directory({ name: "DIR" }).pipe(Args.withFallbackConfig(directoryFromEnv("./config"))) },
    (args) =>
      Effect.gen(function* () {
        // Only a DIR given blank is blank (a blank MODELGATE_CONFIG_DIR means ./config): refused as `--config ""` is.
        if (args.dir.trim() === "") return yield* BadUsage.refuse(BadUsage.invalidArgument("DIR", args.dir, "a configuration directory, not empty (leave it out for MODELGATE_CONFIG_DIR, then ./config)"))
        const files = yield* validateConfig(args.dir)
        // The OpenTelemetry variables too (`serve` would stop on them).
        const tracing = yield* Effect.either(Tracing.settingsFromEnv)
        const problems = tracing._tag === "Left" ? [...files, tracing.left] : files
        if (problems.length === 0) return yield* Console.log(`${args.dir}: configuration is valid`)
        for (const p of problems) yield* Console.error(p.message)
        return yield* new CliFailure({ reason: `${args.dir}: ${problems.length} problem(s) in the configuration` })
      })
  ).pipe(Command.withDescription("check every configuration file of DIR and list every problem"))

  const config = Command.make("config").pipe(
    Command.withDescription("configuration tools"),
    Command.withSubcommands([validate])
  )

  const newKey = Command.make(
    "new",
    {
      name: Options.text("name").pipe(Options.withDescription("the team or client the key is for (unique among the virtual keys)")),
      agentType: Options.text("agent-type").pipe(
        Options.withDescription("the agent type its requests are accounted to (budgets.perAgentType)"),
        Options.optional
      ),
      rpm: BadUsage.integer(rpmFlag).pipe(
        Options.withDescription("chat requests a minute the key may make (a sliding minute; default: no limit of its own)"),
        Options.optional
      ),
      models: Options.text("model").pipe(
        Options.withDescription("a registry model the key may use (repeat for several; default: any)"),
        Options.repeated
      )
    },
    (args) =>
      Effect.gen(function* () {
        const name = args.name.trim()
        const agentType = Option.getOrUndefined(Option.filter(Option.map(args.agentType, (t) => t.trim()), (t) => t !== ""))
        if (name === "") return yield* BadUsage.refuse(BadUsage.invalidValue(nameFlag, args.name))
        const rpm = Option.getOrUndefined(args.rpm)
        const models = args.models.map((m) => m.trim()).filter((m) => m !== "")
        yield* Console.log(describeNewKey(newVirtualKey(name, { agentType, rpm, models })))
      })
  ).pipe(Command.withDescription("make a virtual key: print it once, with the auth.virtualKeys entry (its SHA-256) to add"))

  const keys = Command.make("keys").pipe(
    Command.withDescription("virtual keys for teams (auth.virtualKeys)"),
    Command.withSubcommands([newKey])
  )

  const demo = Command.make("demo", { port, host }, (args) =>
    Effect.gen(function* () {
      const level = yield* envLevel.pipe(
        Effect.mapError((e) => new CliFailure({ reason: `invalid environment: ${e.message}` }))
      )
      return yield* runDemo({ port: Option.getOrUndefined(args.port), host: Option.getOrUndefined(args.host) }).pipe(atLevel(flag, level))
    })).pipe(
      Command.withDescription("run the gateway against in-process fake providers (no keys needed)")
    )

  return Command.make("modelgate").pipe(
    Command.withDescription("modelgate: an LLM gateway that picks the right model for each request"),
    Command.withSubcommands([serve, models, costs, config, keys, demo])
  )
}

/**
 * Parse `argv` (the node and script entries first) and run the command. A
 * flag without its value, or with a bad one, is reported first (one line,
 * as @effect/cli reports usage errors); `--log-level` is applied here.
 */
export const run = (source: AppSource) => (argv: ReadonlyArray<string>) => {
  const usage = Option.match(BadUsage.check(valueFlags, argv.slice(2), switches), {
    onNone: () => Effect.void,
    onSome: BadUsage.refuse
  })
  const { level, argv: rest } = takeLogLevel(argv)
  const cli = Command.run(make(source, { logLevelFlag: Option.isSome(level) }), { name: "modelgate", version })(rest)
  return Effect.zipRight(usage, Option.isSome(level) ? Logger.withMinimumLogLevel(cli, level.value) : cli)
}

/**
 * `run` with `dotEnv` (default `.env` of the working directory) read first,
 * under the environment: every variable the CLI reads (`MODELGATE_CONFIG_DIR`,
 * `MODELGATE_ENV`, `PORT`, `HOST`, `MODELGATE_DB`, `MODELGATE_LOG_LEVEL`, ...)
 * may be set there; a missing file is skipped.
 */
export const runWithDotEnv = (source: AppSource, dotEnv = ".env") =>
  (argv: ReadonlyArray<string>) => run(source)(argv).pipe(Effect.provide(ApiKeys.dotEnvConfigProvider(dotEnv)))
