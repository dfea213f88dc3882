/**
 * A watch of a directory that notices the directory itself being replaced.
 *
 * Node's `fs.watch` of a directory follows the directory it first opened: when
 * that directory is moved away or deleted and a new one put at its path (a
 * deploy that swaps `config` for `config.new`, `rm -rf` then a fresh copy),
 * the watch stays open on the old one and reports nothing of the new one, for
 * good. It reports the move or deletion only as an event named after the
 * directory itself; this watch then checks whether the path still leads to the
 * directory it opened and, when not, fails, for `retryWatch` to start it again
 * on whatever is at the path now (and signal the files to be read again).
 *
 * A path through symlinks (`/etc/modelgate -> /srv/cfg-v1`, or a release's
 * `current -> releases/42` above the directory) is watched at the symlinks'
 * targets: repointing a link (`ln -sfn`, or a rename over it) tells the watch
 * nothing. So each symlink on the path as given is watched too, through the
 * directory holding it, and a change of its name there is checked the same
 * way. Links inside a link's target (a chain) are not followed.
 */
import type { FileSystem } from "@effect/platform"
import { Effect, Option, Stream } from "effect"

/** The last segment of a path (relative or absolute, `/` or `\`). */
export const baseName = (path: string): string => path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1)

/** The directory itself, as `stat` names it (device and inode), or `undefined` when nothing is at the path. */
const identityOf = (fs: FileSystem.FileSystem, directory: string) =>
  Effect.match(fs.stat(directory), {
    onFailure: () => undefined,
    onSuccess: (info) => `${info.dev}:${Option.getOrElse(info.ino, () => "")}`
  })

/** A symlink on a path: its path, the directory holding it and its name there. */
interface Link {
  readonly path: string
  readonly parent: string
  readonly name: string
}

/** The prefixes of `path` (as written, `/` or `\` separated) that are symlinks now. */
const linksOn = (fs: FileSystem.FileSystem, path: string): Effect.Effect<ReadonlyArray<Link>> => {
  const parts = path.split(/[\\/]+/)
  const prefixes = parts.flatMap((name, i): ReadonlyArray<Link> =>
    name === "" || name === "." || name === ".."
      ? []
      : [{ path: parts.slice(0, i + 1).join("/"), parent: i === 0 ? "." : parts.slice(0, i).join("/") || "/", name }]
  )
  return Effect.filter(prefixes, (link) => Effect.isSuccess(fs.readLink(link.path)))
}

/**
 * The events of a watch of `directory` (`""` is the working directory); fails
 * with an `Error` naming the directory once it has been moved away, deleted
 * or replaced (the events after that would be of a directory no longer used).
 */
export const watchInPlace = (
  fs: FileSystem.FileSystem,
  directory: string
): Stream.Stream<FileSystem.WatchEvent, unknown> => {
  // Without a trailing slash: Node names the directory's own events after its last segment.
  const watched = directory === "" ? "." : directory.replace(/[\\/]+$/, "") || directory
  const self = baseName(watched)
  return Stream.unwrap(
    Effect.gen(function*() {
      const opened = yield* identityOf(fs, watched)
      const check = Effect.flatMap(identityOf(fs, watched), (now) =>
        now === opened && now !== undefined
          ? Effect.void
          : Effect.fail(new Error(`the directory ${watched} was replaced or removed`)))
      // A link's directory that cannot be watched leaves its repointing unseen, as before, and the watch running.
      const repointed = (yield* linksOn(fs, watched)).map((link) =>
        fs.watch(link.parent).pipe(
          Stream.catchAll(() => Stream.never),
          Stream.filter((event) => baseName(event.path) === link.name),
          Stream.tap(() => check),
          Stream.drain
        )
      )
      const events = fs.watch(watched).pipe(Stream.tap((event) => baseName(event.path) !== self ? Effect.void : check))
      return repointed.length === 0
        ? events
        : Stream.merge(events, Stream.mergeAll(repointed, { concurrency: "unbounded" }), { haltStrategy: "left" })
    })
  )
}
