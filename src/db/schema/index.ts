export * from './users.js';
export * from './sessions.js';
export * from './conversations.js';
export * from './messages.js';
export * from './read-markers.js';
export * from './jobs.js';
export * from './delivered-markers.js';
export * from './notify-batches.js';
