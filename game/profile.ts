/**
 * How a player appears to other players: the Telegram first name they chose to show, cleaned, or
 * "Farmer #n" (n: the order in which farms joined). Never a support code or an id.
 */

/** Longest name shown on the leaderboard, in characters (code points). */
export const MAX_DISPLAY_NAME_LENGTH = 32;

/**
 * A first name as it may be shown: control and formatting characters (bidi overrides, zero-width
 * joiners used to spoof) removed, whitespace collapsed, at most MAX_DISPLAY_NAME_LENGTH
 * characters. Null when nothing printable is left.
 */
export function cleanDisplayName(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const printable = raw
    .replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
  const clipped = Array.from(printable).slice(0, MAX_DISPLAY_NAME_LENGTH).join('').trim();
  return clipped === '' ? null : clipped;
}

/** The name the leaderboard shows for a player. */
export function leaderboardName(displayName: string | null, farmerNumber: number): string {
  return displayName ?? `Farmer #${farmerNumber}`;
}
