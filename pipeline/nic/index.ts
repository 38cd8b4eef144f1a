/** NIC offload profiles and the transmit offload decision. */
export * from './features.js';
export * from './profile.js';
export * from './decide.js';
export * from './table.js';
export * from './ethtool-import.js';
