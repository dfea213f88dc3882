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
    Effect.map(identityOf(fs, watched), (opened) =>
      fs.watch(watched).pipe(
        Stream.tap((event) =>
          baseName(event.path) !== self ? Effect.void : Effect.flatMap(identityOf(fs, watched), (now) =>
            now === opened && now !== undefined
              ? Effect.void
              : Effect.fail(new Error(`the directory ${watched} was replaced or removed`)))
        )
      ))
  )
}
