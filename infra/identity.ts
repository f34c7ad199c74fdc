/**
 * Player identity for support and storage: the `UserHash` support code, and the sealed form in
 * which a Telegram chat id may be stored (Redis, workflow inputs) without exposing the raw id.
 *
 * Node-only (`node:crypto`); workflow code never imports this module, it only sees the results.
 * `userHash` runs on every Telegram update, so the keys are derived once per secret.
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
const FINGERPRINT_LABEL = 'farmflow:user-hash-key-fingerprint:v1';

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

/** Why a sealed chat id could not be opened. */
export type SealedChatIdProblem = 'malformed' | 'unknown-key' | 'authentication';

/**
 * A sealed chat id that cannot be opened. `authentication` and `unknown-key` mean it was sealed
 * under another key (another USER_HASH_SECRET, or a key this process was not given) or tampered
 * with: retrying cannot help.
 */
export class SealedChatIdError extends Error {
  override name = 'SealedChatIdError';
  constructor(
    readonly problem: SealedChatIdProblem,
    message: string,
  ) {
    super(message);
  }
}

/** The id of the chat-id key derived from USER_HASH_SECRET (the default, and what v1 used). */
export const DERIVED_CHAT_ID_KEY_ID = 'u';
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;
const SEALED_V2 = 'v2';

/**
 * The keys that seal and open chat ids: one seals, all open. The key derived from USER_HASH_SECRET
 * (id "u") is always there, so ids sealed before a rotation (and every v1 id) still open; a
 * separate sealing key can be added and later rotated without touching USER_HASH_SECRET, which is
 * every farm's identity and cannot change.
 */
export interface ChatIdKeyring {
  readonly sealingKeyId: string;
  readonly keys: ReadonlyMap<string, KeyObject>;
  /** Opens v1 ids: the derived key under the v1 format. */
  readonly v1Key: KeyObject;
}

const keyringCache = new Map<string, ChatIdKeyring>();

/**
 * The keyring of a USER_HASH_SECRET, plus optional extra keys (32 bytes each); `sealWith` picks
 * the sealing key (default: the first extra key, else the derived one).
 */
export function chatIdKeyring(
  secret: string,
  extra: { id: string; key: Uint8Array }[] = [],
  sealWith?: string,
): ChatIdKeyring {
  if (extra.length === 0 && sealWith === undefined) {
    const cached = keyringCache.get(secret);
    if (cached) return cached;
  }
  const derived = keysFor(secret, 'chatIdKeyring').chatId;
  const keys = new Map<string, KeyObject>([[DERIVED_CHAT_ID_KEY_ID, derived]]);
  for (const { id, key } of extra) {
    if (!KEY_ID_PATTERN.test(id) || keys.has(id)) {
      throw new Error(`chatIdKeyring: key ids must be unique 1-16 characters of A-Z a-z 0-9 _ -`);
    }
    if (key.length !== 32) throw new Error(`chatIdKeyring: key "${id}" must be 32 bytes`);
    keys.set(id, createSecretKey(Buffer.from(key)));
  }
  const sealingKeyId = sealWith ?? extra[0]?.id ?? DERIVED_CHAT_ID_KEY_ID;
  if (!keys.has(sealingKeyId)) throw new Error(`chatIdKeyring: no key "${sealingKeyId}"`);
  const keyring: ChatIdKeyring = { sealingKeyId, keys, v1Key: derived };
  if (extra.length === 0 && sealWith === undefined) {
    if (keyringCache.size >= MAX_CACHED_SECRETS) keyringCache.clear();
    keyringCache.set(secret, keyring);
  }
  return keyring;
}

const keyringOf = (keys: string | ChatIdKeyring) =>
  typeof keys === 'string' ? chatIdKeyring(keys) : keys;

/** Binds the format and the key id into the tag: a sealed id cannot be moved to another key id. */
const aadFor = (keyId: string | undefined) =>
  Buffer.from(keyId === undefined ? CHAT_ID_INFO : `farmflow:chat-id:v2:${keyId}`, 'utf8');

/**
 * Seals a Telegram chat id (negative for groups; any safe integer) with AES-256-GCM under the
 * keyring's sealing key (by default the key derived from USER_HASH_SECRET). A fresh random IV each
 * call, so equal ids give different strings.
 * Output: "v2.<key id>.<base64url iv>.<base64url ciphertext+tag>".
 */
export function encryptChatId(chatId: number, keys: string | ChatIdKeyring): string {
  if (typeof chatId !== 'number' || !Number.isSafeInteger(chatId)) {
    throw new Error(`encryptChatId: chatId must be a safe integer (${describe(chatId)})`);
  }
  const keyring = keyringOf(keys);
  const keyId = keyring.sealingKeyId;
  const plaintext = Buffer.alloc(PLAINTEXT_BYTES);
  plaintext.writeBigInt64BE(BigInt(chatId));
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyring.keys.get(keyId)!, iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(aadFor(keyId));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${SEALED_V2}.${keyId}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

/** Decodes canonical base64url of exactly `length` bytes, or returns undefined. */
function decodePart(part: string | undefined, length: number): Buffer | undefined {
  if (part === undefined || !BASE64URL.test(part)) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  // Buffer's decoder is lenient; insist on the one canonical spelling.
  if (bytes.length !== length || bytes.toString('base64url') !== part) return undefined;
  return bytes;
}

const malformed = (detail: string) =>
  new SealedChatIdError('malformed', `decryptChatId: malformed sealed chat id (${detail})`);

/**
 * Opens a string from `encryptChatId`: the v2 format, or the older v1 format
 * ("v1.<iv>.<ciphertext>", sealed under the derived key). Throws a SealedChatIdError saying which:
 * malformed input, a key id this keyring does not hold, or authentication failure (tampered, or
 * sealed with a different secret).
 */
export function decryptChatId(sealed: string, keys: string | ChatIdKeyring): number {
  if (typeof sealed !== 'string') {
    throw new SealedChatIdError(
      'malformed',
      `decryptChatId: sealed chat id must be a string (got ${typeof sealed})`,
    );
  }
  const parts = sealed.split('.');
  let keyId: string | undefined;
  let ivPart: string | undefined;
  let bodyPart: string | undefined;
  if (parts.length === 3 && parts[0] === SEALED_VERSION) [, ivPart, bodyPart] = parts;
  else if (parts.length === 4 && parts[0] === SEALED_V2 && KEY_ID_PATTERN.test(parts[1]!)) {
    [, keyId, ivPart, bodyPart] = parts;
  } else {
    throw malformed(
      `expected "${SEALED_V2}.<key id>.<iv>.<ciphertext>" or "${SEALED_VERSION}.<iv>.<ciphertext>"`,
    );
  }
  const iv = decodePart(ivPart, IV_BYTES);
  const body = decodePart(bodyPart, PLAINTEXT_BYTES + TAG_BYTES);
  if (!iv || !body) throw malformed('bad base64url or length');
  const keyring = keyringOf(keys);
  const key = keyId === undefined ? keyring.v1Key : keyring.keys.get(keyId);
  if (!key) {
    throw new SealedChatIdError(
      'unknown-key',
      `decryptChatId: sealed under key "${keyId}", which this process does not hold`,
    );
  }
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aadFor(keyId));
  decipher.setAuthTag(body.subarray(PLAINTEXT_BYTES));
  let plaintext: Buffer;
  try {
    plaintext = Buffer.concat([
      decipher.update(body.subarray(0, PLAINTEXT_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new SealedChatIdError(
      'authentication',
      'decryptChatId: authentication failed (tampered, or sealed with a different secret)',
    );
  }
  const value = plaintext.readBigInt64BE();
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new SealedChatIdError(
      'malformed',
      'decryptChatId: decrypted value is not a safe integer',
    );
  }
  return Number(value);
}

/**
 * A short public fingerprint of the UserHash key: HMAC-SHA256(secret, fixed label), first 8 bytes
 * in hex. Processes compare it to notice that they were given different secrets; it reveals
 * nothing that helps compute support codes or open sealed ids.
 */
export function userHashKeyFingerprint(secret: string): string {
  return createHmac('sha256', keysFor(secret, 'userHashKeyFingerprint').userHash)
    .update(FINGERPRINT_LABEL, 'utf8')
    .digest()
    .subarray(0, 8)
    .toString('hex');
}

/**
 * Seals each chat id once and hands out the same sealed string after that, so the game client
 * does not run AES on every message of the same player. A cache rather than sealing only when the
 * farm is created: every per-message workflow's input carries the sealed id (its shape is fixed)
 * and the client cannot know whether the farm exists yet. Reusing one sealed string is safe (it
 * is a ciphertext, not a nonce); least recently used entries go first past `maxEntries`.
 */
export function createChatIdSealer(keys: string | ChatIdKeyring, maxEntries = 10_000) {
  const keyring = keyringOf(keys);
  const sealed = new Map<number, string>();
  return (chatId: number): string => {
    const known = sealed.get(chatId);
    if (known !== undefined) {
      sealed.delete(chatId);
      sealed.set(chatId, known);
      return known;
    }
    const fresh = encryptChatId(chatId, keyring);
    if (sealed.size >= maxEntries) sealed.delete(sealed.keys().next().value!);
    sealed.set(chatId, fresh);
    return fresh;
  };
}
