/**
 * How much the server keeps in memory. Tests keep everything (the default) and inspect it; a
 * server that runs for days behind `npm start` keeps the newest part and drops the oldest first.
 */
export interface Retention {
  /** Chats kept; past it the chat with the oldest activity (a user's or the bot's) goes. */
  chats?: number;
  /** Messages kept in each chat; past it the oldest go. */
  messagesPerChat?: number;
  /** Calls kept in `calls`. */
  calls?: number;
  /** Updates kept in `updates`, waiting for delivery, and button presses not yet answered. */
  updates?: number;
  /**
   * Bytes of the files the bot sent, kept for getFile and the file route; past it the oldest go.
   * Bounded even in tests, as uploads are large: default 100 MiB.
   */
  fileBytes?: number;
}

/** Forgets the first-inserted entries of a map or set beyond `max` (undefined: no limit). */
export function dropOldest(entries: Map<unknown, unknown> | Set<unknown>, max?: number): void {
  if (max === undefined) return;
  for (const key of entries.keys()) {
    if (entries.size <= max) return;
    entries.delete(key);
  }
}
