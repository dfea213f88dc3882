/**
 * `serve`'s exit code after SIGTERM / SIGINT: 0 when the record writer wrote
 * every record, 1 when it closed without vouching for some (the store still
 * failed, or its final flush ran past `server.shutdownGraceMs`: a write that
 * never returned). `serve` leaves the count in `ShutdownReport` once the
 * gateway has closed; the entry point's `teardown` turns it into the code (an
 * interrupted program cannot fail any more: its exit is the interruption).
 */
import { Runtime } from "@effect/platform"
import { RecordWriter } from "@modelgate/core/RecordWriter"
import { Context, Effect, Layer, Option, Ref } from "effect"

/** Where `serve` reports, after the gateway closed, how many records its record writer could not vouch for. */
export class ShutdownReport extends Context.Tag("modelgate/cli/ShutdownReport")<
  ShutdownReport,
  { readonly unwritten: Ref.Ref<number> }
>() {}

/** A report of 0 records. */
export const makeReport = Effect.map(Ref.make(0), (unwritten) => ShutdownReport.of({ unwritten }))

/**
 * Run `launch` over `app`; once it ended (by a signal), put the count of
 * records the app's record writer (if any) closed without vouching for into
 * the `ShutdownReport` (if one is provided).
 */
export const reportUnwritten = <ROut, E1, A, E2, R>(
  app: Layer.Layer<ROut, E1>,
  launch: (app: Layer.Layer<ROut, E1>) => Effect.Effect<A, E2, R>
): Effect.Effect<A, E2, R> =>
  Effect.flatMap(Effect.serviceOption(ShutdownReport), (report) => {
    if (Option.isNone(report)) return launch(app)
    let writer: RecordWriter["Type"] | undefined
    const watched = Layer.tap(app, (context) =>
      Effect.sync(() => {
        writer = Option.getOrUndefined(Context.getOption(context, RecordWriter))
      })
    )
    return Effect.ensuring(
      launch(watched),
      Effect.suspend(() => (writer === undefined ? Effect.void : Effect.flatMap(writer.unwrittenAtClose, (n) => Ref.set(report.value.unwritten, n))))
    )
  })

/**
 * The entry point's teardown: the platform's exit code, except 1 (with one
 * line on stderr through `print`) when the report counts unwritten records.
 */
export const teardown = (report: ShutdownReport["Type"], print: (line: string) => void): Runtime.Teardown =>
  (exit, onExit) =>
    Runtime.defaultTeardown(exit, (code) => {
      const unwritten = Effect.runSync(Ref.get(report.unwritten))
      if (code !== 0 || unwritten === 0) return onExit(code)
      print(`modelgate: shut down with ${unwritten} record(s) not known to be written (see the error logged before); exit code 1`)
      onExit(1)
    })
