/**
 * Security headers on every answer of the bot's HTTP server, 404s and errors included:
 * @fastify/helmet's defaults (nosniff, HSTS, frame and cross-origin policies, no referrer, …),
 * set in an onRequest hook of the root context, with a Content-Security-Policy that allows
 * nothing, since the server answers JSON. A page it serves (the web chat) sets its own policy,
 * which replaces this one on that page's answers.
 */
import type { FastifyHelmetOptions } from '@fastify/helmet';

export { default as securityHeaders } from '@fastify/helmet';

export const SECURITY_HEADERS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
};
