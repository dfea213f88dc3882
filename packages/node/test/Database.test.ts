/**
 * Which database the gateway opens: `MODELGATE_DATABASE_URL` (PostgreSQL) or
 * the SQLite file; a malformed URL is a typed error naming the variable and
 * never its value (it holds a password).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Database from "@modelgate/node/Database"
import { ConfigProvider, Effect, Either, Option, Redacted } from "effect"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("Database", () => {
  it.effect("no URL, or a blank one, is the SQLite file", () =>
    Effect.gen(function* () {
      for (const env of [{}, { MODELGATE_DATABASE_URL: "  " }]) {
        const url = yield* Database.urlFromEnv.pipe(withEnv(env))
        assert.deepStrictEqual(Database.target("./data/x.db", url), { _tag: "Sqlite", filename: "./data/x.db" })
      }
    }))

  it.effect("a postgres:// or postgresql:// URL is PostgreSQL, kept redacted and shown without its credentials", () =>
    Effect.gen(function* () {
      for (const text of ["postgres://app:s3cret@db.internal:5432/modelgate", "postgresql://app:s3cret@db.internal/modelgate"]) {
        const url = yield* Database.urlFromEnv.pipe(withEnv({ MODELGATE_DATABASE_URL: ` ${text}\n` }))
        const target = Database.target("./data/x.db", url)
        assert.strictEqual(target._tag, "Postgres")
        assert.strictEqual(target._tag === "Postgres" ? Redacted.value(target.url) : "", text)
        assert.notInclude(String(Option.getOrThrow(url)), "s3cret")
        const shown = Database.describe(target)
        assert.include(shown, "db.internal")
        assert.notInclude(shown, "s3cret")
        assert.notInclude(shown, "app:")
      }
    }))

  it.effect("a password holding '@' unencoded (pg reads it whole, and connects) is shown in no part", () =>
    Effect.gen(function* () {
      const url = yield* Database.urlFromEnv.pipe(withEnv({ MODELGATE_DATABASE_URL: "postgres://app:p@ss@w0rd!@db.internal:5432/modelgate" }))
      const shown = Database.describe(Database.target("./data/x.db", url))
      assert.strictEqual(shown, "PostgreSQL postgres://[redacted]@db.internal:5432/modelgate")
    }))

  it.effect("anything else is a ConfigError naming the variable, not quoting the value", () =>
    Effect.gen(function* () {
      for (const bad of ["mysql://app:s3cret@db/modelgate", "app:s3cret@db/modelgate", "postgres://app:s3cret@[bad"]) {
        const result = yield* Effect.either(Database.urlFromEnv.pipe(withEnv({ MODELGATE_DATABASE_URL: bad })))
        assert.isTrue(Either.isLeft(result), bad)
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left._tag, "ConfigError")
          assert.include(result.left.message, "MODELGATE_DATABASE_URL")
          assert.include(result.left.message, "postgres://")
          assert.notInclude(result.left.message, "s3cret")
        }
      }
    }))
})
