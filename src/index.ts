/**
 * The package's public surface for other services and frontends.
 * Each export is the stable entry point of one part of the hub.
 */
export type * from './realtime/protocol.js';
export { buildApp } from './app.js';
export { loadConfig, type Config } from './config.js';
export { createProducer, enqueueJob, type EnqueueInput, type JobProducer } from './producer.js';
