/**
 * @modelgate/providers
 */
export {}
