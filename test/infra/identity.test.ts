import { describe, expect, it } from 'vitest';
import {
  DERIVED_CHAT_ID_KEY_ID,
  SealedChatIdError,
  USER_HASH_PATTERN,
  chatIdKeyring,
  createChatIdSealer,
  decryptChatId,
  encryptChatId,
  isUserHash,
  userHash,
  userHashKeyFingerprint,
} from '../../infra/identity';

const SECRET = 'test-secret';
/** HMAC-SHA256("test-secret", "farmflow:user-hash-key-fingerprint:v1"), first 8 bytes (Node's crypto). */
const PINNED_FINGERPRINT = '2b8b52033a06fc32';

describe('userHash: the support code', () => {
  it('is pinned: a change in derivation would give every player a new, empty farm', () => {
    // Cross-checked with Python: hmac.new(secret, b"farmflow:user-hash:v1:<id>", sha256),
    // first 10 bytes, base64.b32encode(...).lower().
    expect(userHash(123456789, SECRET)).toBe('slprncsr4j2adp6j');
    expect(userHash(1, SECRET)).toBe('nhtkcezf2zq6pofo');
    expect(userHash(2 ** 52, 'another secret')).toBe('qp5adaij2afmeitk');
  });

  it('is stable and has the support-code format', () => {
    const code = userHash(42, SECRET);
    expect(userHash(42, SECRET)).toBe(code);
    expect(code).toMatch(USER_HASH_PATTERN);
    expect(code).toHaveLength(16);
    expect(isUserHash(code)).toBe(true);
  });

  it('accepts the whole range of Telegram user ids', () => {
    for (const id of [1, 2 ** 31, 2 ** 52, Number.MAX_SAFE_INTEGER]) {
      expect(userHash(id, SECRET)).toMatch(USER_HASH_PATTERN);
    }
  });

  it('depends on the secret, so it cannot be computed or reversed without it', () => {
    expect(userHash(42, SECRET)).not.toBe(userHash(42, 'other-secret'));
    expect(userHash(42, SECRET)).not.toContain('42');
  });

  it('gives 100k different users 100k different codes', () => {
    const codes = new Set<string>();
    for (let id = 1; id <= 100_000; id++) codes.add(userHash(id, SECRET));
    expect(codes.size).toBe(100_000);
  });

  it.each([0, -1, 1.5, NaN, Infinity, 2 ** 53, '123', null, undefined, 10n])(
    'rejects %s as a Telegram user id',
    (id) => {
      expect(() => userHash(id as number, SECRET)).toThrow(/positive safe integer/);
    },
  );

  it('does not echo a rejected id in the error (it may be a real one)', () => {
    expect(() => userHash(-123456789, SECRET)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('123456789') as unknown }),
    );
  });

  it('rejects an empty secret', () => {
    expect(() => userHash(42, '')).toThrow(/secret must be a non-empty string/);
  });
});

describe('isUserHash', () => {
  it.each(['slprncsr4j2adp6j', 'aaaaaaaaaaaaaaaa', '2345672345672345'])('accepts %s', (v) => {
    expect(isUserHash(v)).toBe(true);
  });

  it.each([
    'SLPRNCSR4J2ADP6J', // upper case
    'slprncsr4j2adp6', // 15 chars
    'slprncsr4j2adp6jx', // 17 chars
    'slprncsr4j2adp0j', // 0 is not base32
    'slprncsr4j2adp1j', // 1 is not base32
    'slprncsr4j2adp8j', // 8 is not base32
    ' slprncsr4j2adp6j',
    'slprncsr4j2adp6j\n',
    '',
    42,
    null,
    undefined,
    {},
  ])('rejects %j', (v) => {
    expect(isUserHash(v)).toBe(false);
  });
});

describe('encryptChatId / decryptChatId', () => {
  it('decrypts pinned values: stored chat ids must stay readable across releases', () => {
    expect(decryptChatId('v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb', SECRET)).toBe(
      -1001234567890,
    );
    expect(decryptChatId('v1.NUBXf-nGCEg3QvDD.Sd1XVW4DpWFHkoKv-ICuUGyaROp5L2U7', SECRET)).toBe(
      987654321,
    );
  });

  it.each([
    1,
    123456789,
    2 ** 52,
    Number.MAX_SAFE_INTEGER,
    0,
    -1,
    -1001234567890, // a supergroup
    Number.MIN_SAFE_INTEGER,
  ])('round-trips %d', (chatId) => {
    const sealed = encryptChatId(chatId, SECRET);
    expect(sealed).toMatch(/^v2\.u\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32}$/);
    expect(decryptChatId(sealed, SECRET)).toBe(chatId);
  });

  it('uses a random IV: sealing the same id twice gives different strings', () => {
    const a = encryptChatId(-100123, SECRET);
    const b = encryptChatId(-100123, SECRET);
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    expect(decryptChatId(a, SECRET)).toBe(decryptChatId(b, SECRET));
  });

  it('fails with a different secret', () => {
    const sealed = encryptChatId(777, SECRET);
    expect(() => decryptChatId(sealed, 'other-secret')).toThrow(/authentication failed/);
  });

  it('fails when any byte of the iv, ciphertext or tag is changed', () => {
    const sealed = encryptChatId(-1001234567890, SECRET);
    const [version, keyId, ivPart, bodyPart] = sealed.split('.') as [
      string,
      string,
      string,
      string,
    ];
    const iv = Buffer.from(ivPart, 'base64url');
    const body = Buffer.from(bodyPart, 'base64url');
    for (let i = 0; i < iv.length; i++) {
      const t = Buffer.from(iv);
      t[i] = (t[i] ?? 0) ^ 1;
      expect(() =>
        decryptChatId(`${version}.${keyId}.${t.toString('base64url')}.${bodyPart}`, SECRET),
      ).toThrow(/authentication failed/);
    }
    for (let i = 0; i < body.length; i++) {
      const t = Buffer.from(body);
      t[i] = (t[i] ?? 0) ^ 0x80;
      expect(() =>
        decryptChatId(`${version}.${keyId}.${ivPart}.${t.toString('base64url')}`, SECRET),
      ).toThrow(/authentication failed/);
    }
  });

  it('fails when the parts of two sealed ids are swapped', () => {
    const [, , ivA, bodyA] = encryptChatId(1, SECRET).split('.');
    const [, , ivB] = encryptChatId(2, SECRET).split('.');
    expect(ivA).not.toBe(ivB);
    expect(() => decryptChatId(`v2.u.${ivB}.${bodyA}`, SECRET)).toThrow(/authentication failed/);
  });

  it.each([
    '',
    'v1',
    'v1..',
    'v1.YMBACxNI3GhGxAuR',
    'v2.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb', // v2 without a key id
    'v3.u.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb', // unknown version
    'v2.bad key.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb',
    'v2..YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb',
    'v2.u.YMBACxNI3GhGxAu.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb', // short iv
    'V1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb',
    'v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb.extra',
    'v1.YMBACxNI3GhGxAu.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb', // short iv
    'v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHv', // short body
    'v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvbAAAA', // long body
    'v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI/ffS1o73fMGqbZHvb', // standard base64, not base64url
    'v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHv=', // padding
    'v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZH!b',
    '-1001234567890',
  ])('rejects malformed input %j', (sealed) => {
    expect(() => decryptChatId(sealed, SECRET)).toThrow(/malformed sealed chat id/);
  });

  it('rejects a non-string sealed value', () => {
    expect(() => decryptChatId(123 as unknown as string, SECRET)).toThrow(/must be a string/);
  });

  it.each([1.5, NaN, Infinity, 2 ** 53, -(2 ** 53), '5'])(
    'refuses to encrypt %s as a chat id',
    (chatId) => {
      expect(() => encryptChatId(chatId as number, SECRET)).toThrow(/must be a safe integer/);
    },
  );

  it('rejects an empty secret', () => {
    expect(() => encryptChatId(1, '')).toThrow(/secret must be a non-empty string/);
    expect(() => decryptChatId('v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb', '')).toThrow(
      /secret must be a non-empty string/,
    );
  });

  it('keeps working across many secrets (key cache eviction)', () => {
    const secrets = Array.from({ length: 20 }, (_, i) => `secret-${i}`);
    const sealed = secrets.map((s, i) => encryptChatId(-1 - i, s));
    secrets.forEach((s, i) => expect(decryptChatId(sealed[i] ?? '', s)).toBe(-1 - i));
    expect(userHash(123456789, SECRET)).toBe('slprncsr4j2adp6j');
  });
});

describe('chat-id keyring: a key id in the sealed format, one key seals, all open', () => {
  const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
  const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };

  it('old v1 ids (running farms, recorded histories) still open, with a secret or a keyring', () => {
    const v1 = 'v1.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb';
    expect(decryptChatId(v1, SECRET)).toBe(-1001234567890);
    expect(decryptChatId(v1, chatIdKeyring(SECRET, [k2, k1]))).toBe(-1001234567890);
    expect(() => decryptChatId(v1, chatIdKeyring('other-secret', [k1]))).toThrow(
      /authentication failed/,
    );
  });

  it('by default seals under the key derived from USER_HASH_SECRET: nothing new is required', () => {
    const sealed = encryptChatId(42, chatIdKeyring(SECRET));
    expect(sealed.split('.').slice(0, 2)).toEqual(['v2', DERIVED_CHAT_ID_KEY_ID]);
    expect(decryptChatId(sealed, SECRET)).toBe(42);
  });

  it('a separate sealing key can be rotated; ids sealed under earlier keys still open', () => {
    const underK1 = encryptChatId(-100777, chatIdKeyring(SECRET, [k1]));
    const underDerived = encryptChatId(-100778, SECRET);
    expect(underK1.startsWith('v2.k1.')).toBe(true);
    const rotated = chatIdKeyring(SECRET, [k2, k1]);
    const underK2 = encryptChatId(-100779, rotated);
    expect(underK2.startsWith('v2.k2.')).toBe(true);
    expect(decryptChatId(underK1, rotated)).toBe(-100777);
    expect(decryptChatId(underDerived, rotated)).toBe(-100778);
    expect(decryptChatId(underK2, rotated)).toBe(-100779);
    expect(encryptChatId(1, chatIdKeyring(SECRET, [k1, k2], 'k2')).startsWith('v2.k2.')).toBe(true);
  });

  it('an id sealed under a key this process does not hold fails as unknown-key, naming no secret', () => {
    const sealed = encryptChatId(5, chatIdKeyring(SECRET, [k1]));
    try {
      decryptChatId(sealed, SECRET);
      expect.unreachable('opened without the key');
    } catch (err) {
      expect(err).toBeInstanceOf(SealedChatIdError);
      expect((err as SealedChatIdError).problem).toBe('unknown-key');
      expect((err as Error).message).toContain('"k1"');
    }
  });

  it('the key id is authenticated: moving a sealed id to another key id fails', () => {
    const both = chatIdKeyring(SECRET, [k1, k2]);
    const sealed = encryptChatId(5, both);
    expect(() => decryptChatId(sealed.replace('v2.k1.', 'v2.k2.'), both)).toThrow(
      /authentication failed/,
    );
    const same = chatIdKeyring(SECRET, [
      { id: 'k1', key: k1.key },
      { id: 'k3', key: k1.key },
    ]);
    expect(() => decryptChatId(encryptChatId(5, same).replace('v2.k1.', 'v2.k3.'), same)).toThrow(
      /authentication failed/,
    );
  });

  it('says which problem it met, as a typed error', () => {
    const problem = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof SealedChatIdError ? err.problem : 'untyped';
      }
      return 'none';
    };
    expect(problem(() => decryptChatId('nope', SECRET))).toBe('malformed');
    expect(problem(() => decryptChatId(encryptChatId(1, SECRET), 'other-secret'))).toBe(
      'authentication',
    );
  });

  it('refuses bad key sets', () => {
    expect(() => chatIdKeyring(SECRET, [{ id: 'u', key: k1.key }])).toThrow(/unique/);
    expect(() => chatIdKeyring(SECRET, [k1, { id: 'k1', key: k2.key }])).toThrow(/unique/);
    expect(() => chatIdKeyring(SECRET, [{ id: 'a.b', key: k1.key }])).toThrow(/key ids/);
    expect(() => chatIdKeyring(SECRET, [{ id: 'short', key: Buffer.alloc(16) }])).toThrow(
      /32 bytes/,
    );
    expect(() => chatIdKeyring(SECRET, [k1], 'k9')).toThrow(/no key "k9"/);
  });
});

describe('userHashKeyFingerprint', () => {
  it('is pinned, short, and differs between secrets without revealing them', () => {
    const fingerprint = userHashKeyFingerprint(SECRET);
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(userHashKeyFingerprint(SECRET)).toBe(fingerprint);
    expect(userHashKeyFingerprint('other-secret')).not.toBe(fingerprint);
    expect(fingerprint).toBe(PINNED_FINGERPRINT);
  });
});

describe('createChatIdSealer: a chat id is sealed once, not on every message', () => {
  it('hands out the same sealed id for the same chat, which opens to it', () => {
    const seal = createChatIdSealer(SECRET);
    const first = seal(-100123);
    expect(seal(-100123)).toBe(first);
    expect(seal(-100124)).not.toBe(first);
    expect(decryptChatId(first, SECRET)).toBe(-100123);
  });

  it('is bounded: past its size the least recently used chat is sealed afresh', () => {
    const seal = createChatIdSealer(SECRET, 3);
    const a = seal(1);
    const b = seal(2);
    seal(3);
    expect(seal(1)).toBe(a); // 1 is now the most recently used; 2 the least
    seal(4);
    expect(seal(1)).toBe(a);
    const b2 = seal(2);
    expect(b2).not.toBe(b);
    expect(decryptChatId(b2, SECRET)).toBe(2);
  });
});
