/**
 * The pages the bot's HTTP servers serve (the support console; the local web chat): plain HTML,
 * CSS and ES modules with no build step, read once at start, under one strict policy.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** A page runs only its own script and style, talks only to its server, and is never framed. */
export const PAGE_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Serves each of `files` (URL → file name in `dir`), read now; browsers revalidate every load. */
export async function servePageFiles(
  app: FastifyInstance,
  dir: string,
  files: Record<string, string>,
): Promise<void> {
  for (const [url, file] of Object.entries(files)) {
    const type = CONTENT_TYPES[extname(file)];
    if (!type) throw new Error(`servePageFiles: no content type for ${file}`);
    const body = await readFile(join(dir, file));
    app.get(url, { logLevel: 'warn' }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
}
