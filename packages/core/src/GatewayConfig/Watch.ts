/**
 * Watching the configuration directory: the change signal of
 * `GatewayConfig.layer` (gateway.json, environments/<env>.json).
 */
import { FileSystem } from "@effect/platform"
import { type Duration, Effect, Stream } from "effect"
import { retryWatch } from "../internal/retryWatch.js"
import { baseName, watchInPlace } from "../internal/watchInPlace.js"
import { fileIn } from "./Directory.js"

/** A name in the config directory whose change may change the configuration. */
const relevantTop = (name: string): boolean =>
  name === "gateway.json" || name === "environments" || name.startsWith("..") // `..data`: a Kubernetes ConfigMap swap

/**
 * The watch of `<directory>/environments`, kept alive on its own: a watch that
 * fails or ends (ENOSPC, the folder deleted and re-created) is restarted by
 * `retryWatch` on `watchBackoff` and signals `Restarted` (the overlay is read
 * again). An absent folder is no failure: nothing is watched (nor retried)
 * until the top directory changes, which creating the folder does.
 */
const watchEnvironments = (fs: FileSystem.FileSystem, folder: string) =>
  retryWatch(
    folder,
    fs.watch(folder).pipe(
      Stream.catchAll((error) => error._tag === "SystemError" && error.reason === "NotFound" ? Stream.never : Stream.fail(error))
    )
  )

/**
 * Changes to `gateway.json` or `environments/*.json` under `directory`,
 * debounced; the files are re-read by name on each one. Two plain
 * (non-recursive) directory watches, not one recursive watch: Node's recursive
 * watch on Linux follows the file it first saw, so a replacement by rename
 * (`sed -i`, editors, a Kubernetes ConfigMap's `..data` symlink swap) was seen
 * once and never again. The watch of `environments` is replaced after every
 * change in the top directory (the folder itself may have been replaced), one
 * at a time, and restarts itself when it fails or ends. The stream fails or
 * dies when the watch of the top directory fails or closes, or when the top
 * directory itself is replaced (`watchInPlace`): `GatewayConfig.make`
 * restarts it on the directory now at the path and reads the files again.
 */
export const watchDirectory = (
  directory: string,
  debounce: Duration.DurationInput
): Stream.Stream<unknown, unknown, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.map(FileSystem.FileSystem, (fs) => {
      const start = Symbol("start")
      const environments = watchEnvironments(fs, fileIn(directory, "environments"))
      const top = watchInPlace(fs, directory).pipe(
        Stream.filter((event) => relevantTop(baseName(event.path))),
        // A closed watch of the directory must restart even while the environments watch lives on.
        Stream.concat(Stream.dieMessage("the watcher closed"))
      )
      return Stream.concat(Stream.make(start), top).pipe(
        Stream.flatMap((event) => event === start ? environments : Stream.concat(Stream.make(event), environments), {
          switch: true
        }),
        Stream.debounce(debounce)
      )
    })
  )
