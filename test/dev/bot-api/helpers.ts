import { type AddressInfo } from 'node:net';
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
