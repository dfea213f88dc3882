/**
 * @modelgate/node
 */
export {}
