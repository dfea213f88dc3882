/**
 * Helpers for tests of file watchers. Watching is real I/O: a watcher starts
 * in the background with no readiness signal, so these wait for what the
 * watcher did, in real time, with a generous give-up that only detects hangs.
 */
import { FileSystem } from "@effect/platform"
import { Effect, Option } from "effect"

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
