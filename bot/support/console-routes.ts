/**
 * The support and designers' console: a page at /console on the admin listener, plain HTML, CSS
 * and one ES module (no build step), that calls the /support and /admin APIs with the token the
 * person signs in with. The files themselves hold no secret and are served without a token; the
 * page runs only its own script and style, talks only to this server, and is never framed.
 */
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { PAGE_CONTENT_SECURITY_POLICY, servePageFiles } from '../page-files';

export const CONSOLE_PREFIX = '/console';

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', PAGE_CONTENT_SECURITY_POLICY);
  });
  await servePageFiles(app, join(__dirname, 'console'), {
    '/': 'index.html',
    '/console.mjs': 'console.mjs',
    '/console.css': 'console.css',
  });
};
