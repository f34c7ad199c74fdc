import { describe, expect, it } from 'vitest';
import {
  USER_HASH_PATTERN,
  decryptChatId,
  encryptChatId,
  isUserHash,
  userHash,
} from '../../identity';

const SECRET = 'test-secret';

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
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32}$/);
    expect(decryptChatId(sealed, SECRET)).toBe(chatId);
  });

  it('uses a random IV: sealing the same id twice gives different strings', () => {
    const a = encryptChatId(-100123, SECRET);
    const b = encryptChatId(-100123, SECRET);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(decryptChatId(a, SECRET)).toBe(decryptChatId(b, SECRET));
  });

  it('fails with a different secret', () => {
    const sealed = encryptChatId(777, SECRET);
    expect(() => decryptChatId(sealed, 'other-secret')).toThrow(/authentication failed/);
  });

  it('fails when any byte of the iv, ciphertext or tag is changed', () => {
    const sealed = encryptChatId(-1001234567890, SECRET);
    const [version, ivPart, bodyPart] = sealed.split('.') as [string, string, string];
    const iv = Buffer.from(ivPart, 'base64url');
    const body = Buffer.from(bodyPart, 'base64url');
    for (let i = 0; i < iv.length; i++) {
      const t = Buffer.from(iv);
      t[i] = (t[i] ?? 0) ^ 1;
      expect(() =>
        decryptChatId(`${version}.${t.toString('base64url')}.${bodyPart}`, SECRET),
      ).toThrow(/authentication failed/);
    }
    for (let i = 0; i < body.length; i++) {
      const t = Buffer.from(body);
      t[i] = (t[i] ?? 0) ^ 0x80;
      expect(() =>
        decryptChatId(`${version}.${ivPart}.${t.toString('base64url')}`, SECRET),
      ).toThrow(/authentication failed/);
    }
  });

  it('fails when the parts of two sealed ids are swapped', () => {
    const [, ivA, bodyA] = encryptChatId(1, SECRET).split('.');
    const [, ivB] = encryptChatId(2, SECRET).split('.');
    expect(ivA).not.toBe(ivB);
    expect(() => decryptChatId(`v1.${ivB}.${bodyA}`, SECRET)).toThrow(/authentication failed/);
  });

  it.each([
    '',
    'v1',
    'v1..',
    'v1.YMBACxNI3GhGxAuR',
    'v2.YMBACxNI3GhGxAuR.Rh6IAfHXURvqizI_ffS1o73fMGqbZHvb', // unknown version
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
