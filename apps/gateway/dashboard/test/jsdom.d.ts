/** The part of jsdom's API the tests use (jsdom ships no types; @types/jsdom would put the DOM into every project's tests through vitest's own types). */
declare module "jsdom" {
  export class JSDOM {
    constructor(html?: string, options?: { readonly url?: string })
    readonly window: Window & typeof globalThis
  }
}
