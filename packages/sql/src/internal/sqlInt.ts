/**
 * Integer columns and aggregates as they come back: numbers from SQLite,
 * strings from PostgreSQL for BIGINT, `COUNT` and `SUM` (which `pg` leaves as
 * text so no digit is lost). Both decode to a number; money sums, which may
 * pass 2^53, are selected as text and decoded as `bigint` instead.
 */
import { Schema } from "effect"

/** An integer column or aggregate, from SQLite (number) or PostgreSQL (string). */
export const Int = Schema.Union(Schema.Number, Schema.NumberFromString)

/**
 * A time bound (epoch ms, `from` inclusive or `to` exclusive) as the integer
 * that selects the same integer instants (`at >= ceil(from)`, `at < ceil(to)`).
 * PostgreSQL reads a parameter compared with a BIGINT column as a BIGINT and
 * refuses `1.5` (an instant from a span such as `1.0000001h`); SQLite
 * compares it as it is.
 */
export const timeBound = (bound: number): number => Math.ceil(bound)
