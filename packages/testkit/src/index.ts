/**
 * @modelgate/testkit
 */
export {}
