import { type AddressInfo } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';
import fastify from 'fastify';
import type { Update } from 'grammy/types';
import type { BotApiResponse, TestBotApi } from '../../../dev/bot-api';

export const TOKEN = '123456789:AAE_test-token_for_the_local_bot_api';
export const ALICE = { id: 1001, first_name: 'Alice', username: 'alice' };
export const BOB = { id: 1002, first_name: 'Bob' };

/** A Bot API call with plain fetch and a JSON body, as grammY makes them. */
export async function call(
  api: TestBotApi,
  method: string,
  params: Record<string, unknown> = {},
  token = TOKEN,
): Promise<{ status: number; body: BotApiResponse }> {
  const response = await fetch(`${api.url}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: response.status, body: (await response.json()) as BotApiResponse };
}

/** The result of a call that must succeed. */
export async function ok<T = Record<string, unknown>>(
  api: TestBotApi,
  method: string,
  params: Record<string, unknown> = {},
): Promise<T> {
  const { body } = await call(api, method, params);
  if (!body.ok) throw new Error(`${method} failed: ${body.description}`);
  return body.result as T;
}

export interface ReceivedPost {
  headers: Record<string, string | string[] | undefined>;
  update: Update;
}

/**
 * A webhook endpoint that records what it gets and answers with `answer` (default 200 with an
 * empty body).
 */
export async function startReceiver(
  answer: (
    update: Update,
  ) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }> = () => ({
    status: 200,
  }),
) {
  const received: ReceivedPost[] = [];
  const app = fastify();
  app.post('/hook', async (request, reply) => {
    const update = request.body as Update;
    received.push({ headers: request.headers, update });
    const { status, body } = await answer(update);
    return reply.code(status).send(body ?? '');
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, close: () => app.close() };
}

export async function eventually<T>(check: () => T | undefined, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A real PNG of `width`×`height` grey pixels, assembled chunk by chunk (no image library). */
export function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const framed = Buffer.alloc(typed.length + 8);
    framed.writeUInt32BE(data.length, 0);
    typed.copy(framed, 4);
    framed.writeUInt32BE(crc32(typed), typed.length + 4);
    return framed;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, no interlace
  // Each row: filter type 0, then one byte a pixel.
  const rows = Buffer.alloc((width + 1) * height, 0x80);
  for (let row = 0; row < height; row++) rows[row * (width + 1)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The start of a baseline JPEG up to its frame header: all a reader of dimensions looks at. */
export function jpegHeader(width: number, height: number): Buffer {
  const app0 = Buffer.from([
    0xff,
    0xe0,
    0x00,
    0x10,
    ...Buffer.from('JFIF\0'),
    1,
    1,
    0,
    0,
    1,
    0,
    1,
    0,
    0,
  ]);
  const frame = Buffer.from([
    0xff, 0xc0, 0x00, 0x11, 8, 0, 0, 0, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
  ]);
  frame.writeUInt16BE(height, 5);
  frame.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, frame]);
}
