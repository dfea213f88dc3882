/**
 * @modelgate/testkit: fake provider servers speaking the providers' real
 * wire formats, with scripted faults.
 */
export * as FakeServer from "./FakeServer.js"
export * as FakeOpenAi from "./FakeOpenAi.js"
export * as FakeOllama from "./FakeOllama.js"
export * as FakeAnthropic from "./FakeAnthropic.js"
export * as FakeGoogle from "./FakeGoogle.js"
export * as Partition from "./Partition.js"
export * as TestPostgres from "./TestPostgres.js"
