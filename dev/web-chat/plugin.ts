/**
 * The web chat: `GET /` serves a page where a person plays as one or several simulated Telegram
 * users, and `/play/api/*` is the JSON API it calls, over the local Bot API server's user side.
 * Registered only when the bot runs against that local server (`npm start` without a token).
 */
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { ExtraRoutes } from '../../bot/app';
import { PAGE_CONTENT_SECURITY_POLICY, servePageFiles } from '../../bot/page-files';
import { GoneError, MAX_PLAYER_ID, MAX_TEXT_LENGTH, type PlayerApi } from '../bot-api/player-api';

export interface WebChatOptions {
  players: PlayerApi;
}

/** The page's policy, on its API's answers too. */
const SECURITY_HEADERS = {
  'content-security-policy': PAGE_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Long polls answer before common proxies and browsers give up on an idle request. */
const LONG_POLL_MS = 25_000;

const userId = { type: 'integer', minimum: 1, maximum: MAX_PLAYER_ID } as const;
/** Telegram's first_name: 1-64 characters. */
const name = { type: 'string', minLength: 1, maxLength: 64, pattern: '\\S' } as const;
const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' } },
  required: ['error'],
} as const;
const deliverySchema = {
  type: 'object',
  properties: { updateId: { type: 'integer' }, delivered: { type: 'boolean' } },
  required: ['updateId', 'delivered'],
} as const;

const chatSchema = {
  type: 'object',
  required: ['version', 'messages', 'notices'],
  properties: {
    version: { type: 'integer' },
    messages: {
      type: 'array',
      items: {
        type: 'object',
        required: ['messageId', 'from', 'text', 'entities', 'keyboard', 'date', 'edited'],
        properties: {
          messageId: { type: 'integer' },
          from: { type: 'string', enum: ['bot', 'player'] },
          photo: {
            type: 'object',
            required: ['fileId', 'width', 'height'],
            properties: {
              fileId: { type: 'string' },
              width: { type: 'integer' },
              height: { type: 'integer' },
            },
          },
          text: { type: 'string' },
          entities: {
            type: 'array',
            items: {
              type: 'object',
              required: ['type', 'offset', 'length'],
              properties: {
                type: { type: 'string' },
                offset: { type: 'integer' },
                length: { type: 'integer' },
                url: { type: 'string' },
                language: { type: 'string' },
              },
            },
          },
          keyboard: {
            type: 'array',
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['text'],
                properties: {
                  text: { type: 'string' },
                  data: { type: 'string' },
                  url: { type: 'string' },
                },
              },
            },
          },
          date: { type: 'integer' },
          edited: { type: 'boolean' },
        },
      },
    },
    notices: {
      type: 'array',
      items: {
        type: 'object',
        required: ['version', 'kind', 'text', 'alert'],
        properties: {
          version: { type: 'integer' },
          kind: { type: 'string', enum: ['answer', 'delivery'] },
          text: { type: 'string' },
          alert: { type: 'boolean' },
        },
      },
    },
  },
} as const;

interface SendBody {
  userId: number;
  name: string;
  text: string;
}

interface PressBody {
  userId: number;
  name: string;
  messageId: number;
  data: string;
}

export const webChatRoutes: FastifyPluginAsync<WebChatOptions> = async (app, { players }) => {
  const closing = new AbortController();
  // Long polls would otherwise hold the server's close for up to LONG_POLL_MS.
  app.addHook('preClose', async () => closing.abort());
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  await servePageFiles(app, join(__dirname, 'public'), {
    '/': 'index.html',
    '/play/app.mjs': 'app.mjs',
    '/play/style.css': 'style.css',
  });

  app.post<{ Body: SendBody }>(
    '/play/api/send',
    {
      logLevel: 'warn',
      schema: {
        body: {
          type: 'object',
          required: ['userId', 'name', 'text'],
          additionalProperties: false,
          properties: {
            userId,
            name,
            // Telegram clients send no message without a visible character.
            text: { type: 'string', minLength: 1, maxLength: MAX_TEXT_LENGTH, pattern: '\\S' },
          },
        },
        response: { 200: deliverySchema },
      },
    },
    async (request) => {
      const { userId: id, name: playerName, text } = request.body;
      return players.send({ id, name: playerName.trim() }, text);
    },
  );

  app.post<{ Body: PressBody }>(
    '/play/api/press',
    {
      logLevel: 'warn',
      schema: {
        body: {
          type: 'object',
          required: ['userId', 'name', 'messageId', 'data'],
          additionalProperties: false,
          properties: {
            userId,
            name,
            messageId: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1 },
            // Telegram's callback_data: 1-64 bytes.
            data: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
        response: { 200: deliverySchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const { userId: id, name: playerName, messageId, data } = request.body;
      try {
        return await players.press({ id, name: playerName.trim() }, messageId, data);
      } catch (err) {
        if (err instanceof GoneError) return reply.code(409).send({ error: err.message });
        throw err;
      }
    },
  );

  app.get<{ Params: { userId: number }; Querystring: { after?: number } }>(
    '/play/api/chat/:userId',
    {
      logLevel: 'warn',
      schema: {
        params: {
          type: 'object',
          required: ['userId'],
          properties: { userId },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'integer', minimum: 0 } },
        },
        response: { 200: chatSchema },
      },
    },
    async (request, reply) => {
      const gone = new AbortController();
      reply.raw.on('close', () => gone.abort());
      const view = await players.chat(request.params.userId, {
        after: request.query.after,
        waitMs: LONG_POLL_MS,
        signal: AbortSignal.any([closing.signal, gone.signal]),
      });
      return reply.header('cache-control', 'no-store').send(view);
    },
  );

  // A file id names one file's bytes for good: the browser may keep them.
  app.get<{ Params: { userId: number; fileId: string } }>(
    '/play/api/photo/:userId/:fileId',
    {
      logLevel: 'warn',
      schema: {
        params: {
          type: 'object',
          required: ['userId', 'fileId'],
          properties: { userId, fileId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } },
        },
        response: { 404: errorSchema },
      },
    },
    async (request, reply) => {
      const photo = players.photo(request.params.userId, request.params.fileId);
      if (!photo) return reply.code(404).send({ error: 'The chat shows no such photo' });
      return reply
        .type(photo.contentType)
        .header('cache-control', 'private, max-age=31536000, immutable')
        .send(photo.bytes);
    },
  );
};

/** For the bot's app (`extraRoutes`): the web chat on the same HTTP server as the webhook. */
export function webChatExtraRoutes(options: WebChatOptions): ExtraRoutes {
  return async (app) => {
    await app.register(webChatRoutes, options);
  };
}
