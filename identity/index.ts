/**
 * Player identity for support and storage: the `UserHash` support code, and the sealed form in
 * which a Telegram chat id may be stored (Redis, workflow inputs) without exposing the raw id.
 *
 * Node-only (`node:crypto`); workflow code never imports this module, it only sees the results.
 * Both functions run on every Telegram update, so the keys are derived once per secret.
 */
import {
  type KeyObject,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
} from 'node:crypto';

/** Changing any of these gives every player a new support code, i.e. a new, empty farm. */
const USER_HASH_DOMAIN = 'farmflow:user-hash:v1:';
const CHAT_ID_INFO = 'farmflow:chat-id:v1';
const SEALED_VERSION = 'v1';

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * 16 characters of lowercase RFC 4648 base32, i.e. exactly 80 bits of the HMAC.
 *
 * Why 80 bits never collide in practice: by the birthday bound, n random 80-bit codes collide
 * with probability ≈ n² / 2^81. Even at 10^8 players that is 10^16 / 2.4e24 ≈ 4e-9; at 10^6
 * players it is ≈ 4e-13. Short enough to read out to support, long enough to be unique.
 */
export const USER_HASH_PATTERN = /^[a-z2-7]{16}$/;

const USER_HASH_BYTES = 10; // 80 bits = 16 base32 characters, no padding
const IV_BYTES = 12; // the GCM standard nonce size
const TAG_BYTES = 16;
const PLAINTEXT_BYTES = 8; // a chat id as a signed 64-bit big-endian integer
const BASE64URL = /^[A-Za-z0-9_-]+$/;

interface DerivedKeys {
  /** HMAC-SHA256 key for the support code: the secret itself. */
  userHash: KeyObject;
  /** AES-256-GCM key for chat ids: HKDF-SHA256(secret, info "farmflow:chat-id:v1"). */
  chatId: KeyObject;
}

/** A process uses one or two secrets (rotation); the cap only guards against misuse. */
const MAX_CACHED_SECRETS = 8;
const keyCache = new Map<string, DerivedKeys>();

function keysFor(secret: string, caller: string): DerivedKeys {
  const cached = keyCache.get(secret);
  if (cached) return cached;
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new Error(`${caller}: secret must be a non-empty string`);
  }
  const secretBytes = Buffer.from(secret, 'utf8');
  const keys: DerivedKeys = {
    userHash: createSecretKey(secretBytes),
    chatId: createSecretKey(
      Buffer.from(hkdfSync('sha256', secretBytes, Buffer.alloc(0), CHAT_ID_INFO, 32)),
    ),
  };
  if (keyCache.size >= MAX_CACHED_SECRETS) keyCache.clear();
  keyCache.set(secret, keys);
  return keys;
}

/** Says what is wrong with a value without echoing it: it may be a real Telegram id. */
function describe(value: unknown): string {
  if (typeof value !== 'number') return `got ${value === null ? 'null' : typeof value}`;
  if (Number.isNaN(value)) return 'got NaN';
  if (!Number.isFinite(value)) return 'got an infinite number';
  if (!Number.isInteger(value)) return 'got a non-integer';
  if (!Number.isSafeInteger(value)) return 'got an integer beyond Number.MAX_SAFE_INTEGER';
  return 'got zero or a negative number';
}

function base32(bytes: Buffer): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The player's support code: HMAC-SHA256(secret, "farmflow:user-hash:v1:" + telegramUserId),
 * first 80 bits, as 16 characters of lowercase base32 (a-z2-7).
 *
 * Stable for a given secret and id; keyed, so without the secret it cannot be reversed or
 * enumerated from the (small) space of Telegram ids. Telegram user ids are positive integers of
 * at most 52 bits; anything that is not a positive safe integer is rejected.
 */
export function userHash(telegramUserId: number, secret: string): string {
  if (
    typeof telegramUserId !== 'number' ||
    !Number.isSafeInteger(telegramUserId) ||
    telegramUserId <= 0
  ) {
    throw new Error(
      `userHash: telegramUserId must be a positive safe integer (${describe(telegramUserId)})`,
    );
  }
  const mac = createHmac('sha256', keysFor(secret, 'userHash').userHash)
    .update(`${USER_HASH_DOMAIN}${telegramUserId}`, 'utf8')
    .digest();
  return base32(mac.subarray(0, USER_HASH_BYTES));
}

export function isUserHash(value: unknown): value is string {
  return typeof value === 'string' && USER_HASH_PATTERN.test(value);
}

/**
 * Seals a Telegram chat id (negative for groups; any safe integer) with AES-256-GCM under a key
 * derived from the secret. A fresh random IV each call, so equal ids give different strings.
 * Output: "v1.<base64url iv>.<base64url ciphertext+tag>".
 */
export function encryptChatId(chatId: number, secret: string): string {
  if (typeof chatId !== 'number' || !Number.isSafeInteger(chatId)) {
    throw new Error(`encryptChatId: chatId must be a safe integer (${describe(chatId)})`);
  }
  const key = keysFor(secret, 'encryptChatId').chatId;
  const plaintext = Buffer.alloc(PLAINTEXT_BYTES);
  plaintext.writeBigInt64BE(BigInt(chatId));
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(CHAT_ID_INFO, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${SEALED_VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

/** Decodes canonical base64url of exactly `length` bytes, or returns undefined. */
function decodePart(part: string | undefined, length: number): Buffer | undefined {
  if (part === undefined || !BASE64URL.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  // Buffer's decoder is lenient; insist on the one canonical spelling.
  if (bytes.length !== length || bytes.toString('base64url') !== part) return undefined;
  return bytes;
}

/**
 * Opens a string from `encryptChatId`. Throws an Error saying which: malformed input, or
 * authentication failure (tampered, or sealed under a different secret).
 */
export function decryptChatId(sealed: string, secret: string): number {
  if (typeof sealed !== 'string') {
    throw new Error(`decryptChatId: sealed chat id must be a string (got ${typeof sealed})`);
  }
  const parts = sealed.split('.');
  if (parts.length !== 3 || parts[0] !== SEALED_VERSION) {
    throw new Error(
      `decryptChatId: malformed sealed chat id (expected "${SEALED_VERSION}.<iv>.<ciphertext>")`,
    );
  }
  const iv = decodePart(parts[1], IV_BYTES);
  const body = decodePart(parts[2], PLAINTEXT_BYTES + TAG_BYTES);
  if (!iv || !body) {
    throw new Error('decryptChatId: malformed sealed chat id (bad base64url or length)');
  }
  const key = keysFor(secret, 'decryptChatId').chatId;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(CHAT_ID_INFO, 'utf8'));
  decipher.setAuthTag(body.subarray(PLAINTEXT_BYTES));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([
      decipher.update(body.subarray(0, PLAINTEXT_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new Error(
      'decryptChatId: authentication failed (tampered, or sealed with a different secret)',
    );
  }
  const value = plaintext.readBigInt64BE();
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new Error('decryptChatId: decrypted value is not a safe integer');
  }
  return Number(value);
}
