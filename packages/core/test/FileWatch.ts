/**
 * Helpers for tests of file watchers. Watching is real I/O: a watcher starts
 * in the background with no readiness signal, so these wait for what the
 * watcher did, in real time, with a generous give-up that only detects hangs.
 */
import { FileSystem } from "@effect/platform"
import { type PlatformError, SystemError } from "@effect/platform/Error"
import { Effect, Logger, Option, PubSub, Stream } from "effect"

/** Warnings logged while a test runs: `warnings`, filled by the logger `layer` replaces the default one with. */
export const captureWarnings = () => {
  const warnings: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return { warnings, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** Real time after which a wait on file events is taken as a hang (never the bound a test asserts). */
export const hangAfter = "10 seconds"

/** Fail naming `what` if `effect` has not ended after `hangAfter` of real time. */
export const hangDetector = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string) =>
  Effect.timeoutFail(effect, {
    duration: hangAfter,
    onTimeout: () => new Error(`hang detector: waited ${hangAfter} of real time for ${what}`)
  })

/**
 * Write `content` to `file`, wait up to `roundMs` of real time (longer than the
 * watcher's debounce) for `observed`, and write again until it is seen: for the
 * first change a watcher started in the background must see, when it may not
 * be live yet. Each write runs whole (never interrupted half way), so no
 * truncated file is left behind; give-up after `hangAfter`.
 */
export const writeUntilObserved = <A, E, R>(
  file: string,
  content: string,
  observed: Effect.Effect<A, E, R>,
  what: string,
  roundMs = 300
) =>
  FileSystem.FileSystem.pipe(
    Effect.flatMap((fs) => Effect.uninterruptible(fs.writeFileString(file, content))),
    Effect.zipRight(Effect.timeoutOption(observed, roundMs)),
    Effect.repeat({ until: Option.isSome }),
    Effect.flatten,
    (effect) => hangDetector(effect, what)
  )

/** Replace `file` as `sed -i` and many editors do: write a temp file beside it, then rename it over `file`. */
export const replaceByRename = (file: string, content: string) =>
  FileSystem.FileSystem.pipe(
    Effect.flatMap((fs) =>
      Effect.uninterruptible(
        fs.writeFileString(`${file}.tmp-replace`, content).pipe(Effect.zipRight(fs.rename(`${file}.tmp-replace`, file)))
      )
    )
  )

/**
 * Publish a new version of a Kubernetes-style ConfigMap mount in `dir`: the
 * files under `dir` are symlinks `name -> ..data/name`, `..data` a symlink to a
 * timestamped folder; a new folder is written, then a `..data_tmp` symlink to
 * it is renamed over `..data` (the file names in `dir` never change).
 */
export const swapConfigMap = (dir: string, version: string, files: Record<string, string>) =>
  FileSystem.FileSystem.pipe(
    Effect.flatMap((fs) =>
      Effect.gen(function*() {
        const folder = `..${version}`
        yield* fs.makeDirectory(`${dir}/${folder}`, { recursive: true })
        for (const [name, content] of Object.entries(files)) {
          yield* fs.writeFileString(`${dir}/${folder}/${name}`, content)
          if (!(yield* fs.exists(`${dir}/${name}`))) yield* fs.symlink(`..data/${name}`, `${dir}/${name}`)
        }
        yield* fs.symlink(folder, `${dir}/..data_tmp`)
        yield* fs.rename(`${dir}/..data_tmp`, `${dir}/..data`)
      })
    ),
    Effect.uninterruptible
  )

/** What a watch of a directory of `fakeFiles` does when started: `fail` (ENOSPC), `die` (a throwing `fs.watch`: EMFILE), `close` (ends at once), `live`. */
export type WatchStart = "fail" | "die" | "close" | "live"

/**
 * An in-memory `FileSystem` for watcher tests on the `TestClock` (no real
 * I/O): `files` by absolute path, watches of `directories` only (any other
 * path is NotFound). The starts of the watches of a directory follow
 * `starts[directory]` in turn, then are `live`. `write` changes a file and
 * tells the live watches of its directory; `writeUnseen` changes it silently
 * (nobody watching); `close` ends the live watches of a directory, as Node's
 * watcher of a directory deleted and re-created does, telling nobody else;
 * `awaitWatching` waits until a watch of `directory` is live.
 */
export const fakeFiles = (options: {
  readonly files: Record<string, string>
  readonly directories: ReadonlyArray<string>
  readonly starts?: Record<string, ReadonlyArray<WatchStart>>
}) =>
  Effect.gen(function*() {
    const files = new Map(Object.entries(options.files))
    const starts = new Map(Object.entries(options.starts ?? {}).map(([dir, list]) => [dir, [...list]]))
    const live = new Map<string, number>()
    const attempts = new Map<string, number>()
    // File events, and the closing of every live watch of a directory.
    const events = yield* PubSub.unbounded<FileSystem.WatchEvent | { readonly _tag: "Close"; readonly dir: string }>()
    const parent = (file: string) => file.slice(0, file.lastIndexOf("/"))
    const notFound = (method: string, path: string) =>
      new SystemError({ module: "FileSystem", method, reason: "NotFound", pathOrDescriptor: path })
    const liveWatch = (dir: string) =>
      Stream.unwrapScoped(
        Effect.gen(function*() {
          const subscription = yield* PubSub.subscribe(events)
          yield* Effect.acquireRelease(
            Effect.sync(() => live.set(dir, (live.get(dir) ?? 0) + 1)),
            () => Effect.sync(() => live.set(dir, (live.get(dir) ?? 1) - 1))
          )
          return Stream.fromQueue(subscription).pipe(
            Stream.takeWhile((event) => !(event._tag === "Close" && event.dir === dir)),
            Stream.filter((event): event is FileSystem.WatchEvent => event._tag !== "Close" && parent(event.path) === dir)
          )
        })
      )
    const watch = (dir: string): Stream.Stream<FileSystem.WatchEvent, PlatformError> =>
      Stream.suspend(() => {
        if (!options.directories.includes(dir)) return Stream.fail(notFound("watch", dir))
        attempts.set(dir, (attempts.get(dir) ?? 0) + 1)
        switch (starts.get(dir)?.shift() ?? "live") {
          case "fail":
            return Stream.fail(
              new SystemError({ module: "FileSystem", method: "watch", reason: "Unknown", pathOrDescriptor: dir, description: "ENOSPC: System limit for number of file watchers reached" })
            )
          case "die":
            return Stream.die(new Error(`EMFILE: too many open files, watch '${dir}'`))
          case "close":
            return Stream.empty
          case "live":
            return liveWatch(dir)
        }
      })
    const fs = FileSystem.makeNoop({
      exists: (path) => Effect.sync(() => files.has(path) || options.directories.includes(path)),
      readFileString: (path) =>
        Effect.suspend(() => {
          const text = files.get(path)
          return text === undefined ? Effect.fail(notFound("readFileString", path)) : Effect.succeed(text)
        }),
      watch
    })
    return {
      fs,
      writeUnseen: (file: string, content: string) => Effect.sync(() => files.set(file, content)),
      write: (file: string, content: string) =>
        Effect.zipRight(Effect.sync(() => files.set(file, content)), PubSub.publish(events, FileSystem.WatchEventUpdate({ path: file }))),
      /** End the live watches of `dir` (no file event). */
      close: (dir: string) => PubSub.publish(events, { _tag: "Close", dir }),
      /** How many watches of `dir` were started (failed ones included). */
      attempts: (dir: string) => Effect.sync(() => attempts.get(dir) ?? 0),
      /** How many watches of `dir` are live now. */
      watching: (dir: string) => Effect.sync(() => live.get(dir) ?? 0),
      awaitWatching: (dir: string) =>
        Effect.yieldNow().pipe(
          Effect.repeat({ until: () => (live.get(dir) ?? 0) > 0, times: 10_000 }),
          Effect.filterOrFail(() => (live.get(dir) ?? 0) > 0, () => new Error(`no live watch of ${dir}`))
        )
    }
  })
