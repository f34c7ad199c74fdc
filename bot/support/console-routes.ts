/**
 * The support and designers' console: a page at /console on the admin listener, plain HTML, CSS
 * and one ES module (no build step), that calls the /support and /admin APIs with the token the
 * person signs in with. The files themselves hold no secret and are served without a token; the
 * page runs only its own script and style, talks only to this server, and is never framed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';

export const CONSOLE_PREFIX = '/console';

const CONSOLE_DIR = join(__dirname, 'console');
const STATIC_FILES = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.mjs': { file: 'console.mjs', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

/** The web chat's policy: own script and style only, requests to this server only. */
export const CONSOLE_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', CONSOLE_CONTENT_SECURITY_POLICY);
  });
  for (const [url, { file, type }] of Object.entries(STATIC_FILES)) {
    const body = await readFile(join(CONSOLE_DIR, file));
    app.get(url || '/', { logLevel: 'warn' }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
};
