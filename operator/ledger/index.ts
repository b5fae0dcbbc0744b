/** The ledger core: pure functions from a node snapshot to ordered writes (design.md "The ledger"). */
export * from './types.js';
export * from './units.js';
export * from './math.js';
export * from './hysteresis.js';
export * from './decide.js';
export * from './double-booking.js';
