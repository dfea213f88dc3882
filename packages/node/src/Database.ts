/**
 * Which database the gateway opens: PostgreSQL when `MODELGATE_DATABASE_URL`
 * is set (several instances sharing their records, costs, metrics, added
 * models and response cache), else the embedded SQLite file
 * `database.filename` (`MODELGATE_DB`, default `./data/modelgate.db`).
 *
 * The URL holds a password, so it is read as `Redacted` and never quoted:
 * not in the config files (which are shown and reloaded), only from the
 * environment or `.env`, like the provider keys.
 */
import type { CommandExecutor, FileSystem, Path } from "@effect/platform"
import type { SqlClient } from "@effect/sql"
import { ConfigError, type StoreError } from "@modelgate/domain/Errors"
import * as Postgres from "@modelgate/sql/Postgres"
import * as Sqlite from "@modelgate/sql/Sqlite"
import { Config, Effect, Layer, Option, Redacted } from "effect"

/** The environment variable naming the PostgreSQL database. */
export const urlVariable = "MODELGATE_DATABASE_URL"

/** Where the data lives. */
export type DatabaseTarget =
  | { readonly _tag: "Sqlite"; readonly filename: string }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted<string>; readonly maxConnections?: number | undefined }

const schemes = /^postgres(ql)?:\/\//i

/**
 * The PostgreSQL URL of the environment (`MODELGATE_DATABASE_URL`, blank
 * meaning unset), checked to be a `postgres://` or `postgresql://` URL. A
 * malformed one is a `ConfigError` naming the variable, never its value.
 */
export const urlFromEnv: Effect.Effect<Option.Option<Redacted.Redacted<string>>, ConfigError> = Config.option(
  Config.redacted(urlVariable)
).pipe(
  Effect.mapError(() => new ConfigError({ file: `environment variable ${urlVariable}`, path: "", reason: "could not be read" })),
  Effect.flatMap((url) => {
    if (Option.isNone(url) || Redacted.value(url.value).trim() === "") return Effect.succeed(Option.none())
    const text = Redacted.value(url.value).trim()
    if (!schemes.test(text) || !URL.canParse(text)) {
      return Effect.fail(
        new ConfigError({
          file: `environment variable ${urlVariable}`,
          path: "",
          reason: "expected a URL of the form postgres://user:password@host:5432/database (value not shown)"
        })
      )
    }
    return Effect.succeed(Option.some(Redacted.make(text)))
  })
)

/** The target for `filename` (the config's `database.filename`): PostgreSQL when `url` is given. */
export const target = (filename: string, url: Option.Option<Redacted.Redacted<string>>): DatabaseTarget =>
  Option.match(url, {
    onNone: () => ({ _tag: "Sqlite", filename }),
    onSome: (url) => ({ _tag: "Postgres", url })
  })

/** How the target is shown in logs: the file, or the URL without its credentials. */
export const describe = (t: DatabaseTarget): string =>
  t._tag === "Sqlite" ? `SQLite ${t.filename}` : `PostgreSQL ${Postgres.describeUrl(t.url)}`

/**
 * The migrated database of `t` (`Sqlite.layer` or `Postgres.layer`); with
 * `requireWrites` (the gateway), a SQLite file this process cannot write, or a
 * PostgreSQL database that takes no writes (a standby, read-only sessions, a
 * role without write privileges), fails it.
 */
export const layer = (
  t: DatabaseTarget,
  options: { readonly requireWrites?: boolean | undefined } = {}
): Layer.Layer<SqlClient.SqlClient, StoreError, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  t._tag === "Sqlite" ? Sqlite.layer(t.filename, options) : Postgres.layer({ url: t.url, maxConnections: t.maxConnections, ...options })

/** The database for `filename` unless `MODELGATE_DATABASE_URL` names a PostgreSQL one. */
export const layerFromEnv = (
  filename: string
): Layer.Layer<SqlClient.SqlClient, StoreError | ConfigError, FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  Layer.unwrapEffect(Effect.map(urlFromEnv, (url) => layer(target(filename, url))))
