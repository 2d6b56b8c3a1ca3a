export * from './db-module-options.interface.js';
export * from './db-pool-stats.interface.js';
export * from './db-transaction-options.interface.js';
export * from './db-replica-options.interface.js';
