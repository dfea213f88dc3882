/** The page's entry: the dashboard on this browser tab, refreshed every 5 s while the tab is seen. */
import { start } from "./Dashboard.js"

const root = document.getElementById("dashboard")
if (root !== null) {
  start({
    document,
    root,
    base: location.origin,
    fetch: (input, init) => fetch(input, init),
    storage: sessionStorage,
    timers: { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (handle) => clearTimeout(handle) },
    refreshMs: 5_000,
    hidden: () => document.visibilityState === "hidden"
  })
}
