/** The pure game rules: safe to import from workflow code, the bot and tests alike. */
export * from './crops.js';
export * from './rules.js';
export * from './events.js';
export * from './market.js';
export * from './profile.js';
export * from './records.js';
