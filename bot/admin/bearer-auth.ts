/**
 * The door of the admin listener's APIs: `Authorization: Bearer <token>` on every request, one of
 * the named tokens the route accepts (the admin token under /admin; the support tokens and the
 * admin token under /support), compared in constant time against each, and failed attempts
 * limited per client address across both. The token's name is the request's `caller`.
 *
 * Every request answered 401 (no token or a wrong one) counts as a failure. An address that
 * failed `failures` times within `windowSeconds` is answered 429 (with Retry-After) until the
 * window ends, whatever it sends, the right token included: a limiter that still let the right
 * token through would tell a guesser which guess was right, so guessing would go on at full
 * speed. The person locked out waits at most one window. Successful requests cost nothing. The counts live in Redis, so the limit holds across bot processes; while Redis is
 * unreachable, each process counts in memory instead.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { NamedToken } from '../../infra/config';
import type { RedisClient } from '../../store/redis';

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the token the request came with (set by `bearerAuth`). */
    caller?: string;
  }
}

export interface BearerAuthOptions {
  redis: RedisClient;
  keyPrefix: string;
  /**
   * Whose failures count together (default `admin`: the admin listener's APIs). The public
   * listener's report API counts apart, so that guessing there never locks support out here.
   */
  scope?: string;
  /** Failed attempts an address may make per window; default FAILURE_LIMIT. */
  failures?: number;
  windowSeconds?: number;
}

export const FAILURE_LIMIT = { failures: 10, windowSeconds: 60 };

const REALM = 'farmflow-admin';

/**
 * Compared as SHA-256 digests: timingSafeEqual needs equal lengths, and comparing digests of equal
 * length keeps the token's own length out of the timing too.
 */
const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The token of an `Authorization: Bearer <token>` header (the scheme in any case), else undefined. */
function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * The listener's door: one count of failed attempts per address, whichever API it tried (in Redis,
 * or in this process's memory while Redis is down), so the same guesser cannot get twice the
 * tries. `guard(tokens, expects)` is the hook of a route prefix that accepts `tokens`; `expects`
 * names, in a missing token's answer, what to send (e.g. ADMIN_TOKEN).
 */
export function bearerAuth(options: BearerAuthOptions) {
  const failures = options.failures ?? FAILURE_LIMIT.failures;
  const duration = options.windowSeconds ?? FAILURE_LIMIT.windowSeconds;
  const limiter = new RateLimiterRedis({
    storeClient: options.redis,
    useRedisPackage: true,
    keyPrefix: `${options.keyPrefix}${options.scope ?? 'admin'}-auth-failures`,
    points: failures,
    duration,
    insuranceLimiter: new RateLimiterMemory({ points: failures, duration }),
  });

  const tooMany = (reply: FastifyReply, msBeforeNext: number) => {
    const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return reply
      .code(429)
      .header('retry-after', String(seconds))
      .send({ error: `too many failed attempts from this address: try again in ${seconds} s` });
  };

  return (tokens: readonly NamedToken[], expects: string) => {
    const expected = tokens.map(({ name, token }) => ({ name, digest: digest(token) }));
    return async function authenticate(req: FastifyRequest, reply: FastifyReply) {
      const address = req.ip;
      const counted = await limiter.get(address);
      if (counted && counted.consumedPoints >= failures) {
        req.log.debug({ address }, 'admin request refused: too many failed attempts');
        return tooMany(reply, counted.msBeforeNext);
      }
      const given = bearerToken(req.headers.authorization);
      if (given !== undefined) {
        const givenDigest = digest(given);
        // Every token is compared, so the time taken does not tell which one came close.
        let caller: string | undefined;
        for (const { name, digest: wanted } of expected) {
          if (timingSafeEqual(givenDigest, wanted)) caller ??= name;
        }
        if (caller !== undefined) {
          req.caller = caller;
          return;
        }
      }

      req.log.warn(
        { address, path: req.routeOptions.url ?? 'unknown route' },
        `request ${given === undefined ? 'without a' : 'with a wrong'} token`,
      );
      try {
        await limiter.consume(address);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        // Other failures from the same address were counted first.
        return tooMany(reply, rejection.msBeforeNext);
      }
      // RFC 6750: no error code when no credentials came at all.
      return reply
        .code(401)
        .header(
          'www-authenticate',
          given === undefined
            ? `Bearer realm="${REALM}"`
            : `Bearer realm="${REALM}", error="invalid_token"`,
        )
        .send({
          error:
            given === undefined
              ? `missing bearer token: send "Authorization: Bearer <${expects}>"`
              : 'invalid token',
        });
    };
  };
}
