export * from './db.error.js';
export * from './db-acquire-timeout.error.js';
export * from './db-config.error.js';
export * from './db-connect.error.js';
export * from './db-connection-released.error.js';
export * from './db-pool-closed.error.js';
export * from './db-queue-full.error.js';
export * from './db-startup.error.js';
