/**
 * Photos on the local Bot API server: a message edited from text into an uploaded picture
 * (editMessageMedia, as grammY sends it), the dimensions read from the upload, Telegram's limits
 * on photos, and the kept bytes served by getFile's file route.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, GrammyError, InputFile } from 'grammy';
import type { Message } from 'grammy/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestBotApi, type TestBotApi } from '../../../dev/bot-api';
import { ALICE, TOKEN, call, jpegHeader, png } from './helpers';

let api: TestBotApi;
let bot: Api;

beforeEach(async () => {
  api = await startTestBotApi({ token: TOKEN, limits: false });
  bot = new Api(TOKEN, { apiRoot: api.url });
  await api.sendText(ALICE, '/report');
});
afterEach(async () => {
  await api.close();
});

const menu = { inline_keyboard: [[{ text: '🌾 Farm', callback_data: 'farm' }]] };
const MiB = 2 ** 20;

/** The spinner message a slow report starts with. */
const spinner = () => bot.sendMessage(ALICE.id, 'Preparing your report…', { reply_markup: menu });

const photoOf = (bytes: Buffer, caption?: string) => ({
  type: 'photo' as const,
  media: new InputFile(bytes, 'report.png'),
  ...(caption !== undefined && { caption }),
});

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => expect.fail('the call succeeded'),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(GrammyError);
  const { error_code, description } = error as GrammyError;
  return { error_code, description };
}

const badRequest = (description: string) => ({
  error_code: 400,
  description: `Bad Request: ${description}`,
});

/** A multipart request built by hand, for what grammY never sends. */
async function multipart(method: string, fields: Record<string, string | Blob>) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') form.set(name, value);
    else form.set(name, value, 'report.png');
  }
  const response = await fetch(`${api.url}/bot${TOKEN}/${method}`, { method: 'POST', body: form });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('editMessageMedia', () => {
  it("replaces the spinner's text with an uploaded PNG in place, as grammY uploads it", async () => {
    const sent = await spinner();
    const bytes = png(640, 360);
    const edited = (await bot.editMessageMedia(ALICE.id, sent.message_id, {
      ...photoOf(bytes, '<b>Your farm</b> this week'),
      parse_mode: 'HTML',
    })) as Message;

    expect(edited).toEqual({
      message_id: sent.message_id,
      from: sent.from,
      chat: sent.chat,
      date: sent.date,
      photo: [
        {
          file_id: expect.stringMatching(/^AgAC[\w-]+$/) as string,
          file_unique_id: expect.any(String) as string,
          width: 640,
          height: 360,
          file_size: bytes.length,
        },
      ],
      caption: 'Your farm this week',
      caption_entities: [{ type: 'bold', offset: 0, length: 9 }],
      edit_date: expect.any(Number) as number,
    });
    // The chat shows one message under the same id: the picture, its caption, no text, no keyboard.
    expect(api.messages(ALICE.id)).toEqual([
      {
        message_id: sent.message_id,
        text: 'Your farm this week',
        source: '<b>Your farm</b> this week',
        parse_mode: 'HTML',
        entities: [{ type: 'bold', offset: 0, length: 9 }],
        date: sent.date,
        edit_date: edited.edit_date,
        message: edited,
      },
    ]);
    // The record of calls keeps what a Message says of the upload, not its bytes.
    const { params } = api.calls.at(-1)!;
    const media = JSON.parse(String(params.media)) as { media: string };
    const part = media.media.replace('attach://', '');
    expect(params[part]).toEqual({
      file_name: 'report.png',
      mime_type: 'application/octet-stream',
      file_size: bytes.length,
    });
  });

  it('takes a picture grammY streams from a file on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'farmflow-media-'));
    try {
      const bytes = png(800, 450);
      await writeFile(join(dir, 'report.png'), bytes);
      const sent = await spinner();
      const edited = (await bot.editMessageMedia(ALICE.id, sent.message_id, {
        type: 'photo',
        media: new InputFile(join(dir, 'report.png'), 'report.png'),
      })) as Message;
      expect(edited.photo).toMatchObject([{ width: 800, height: 450, file_size: bytes.length }]);
      expect(api.file(edited.photo![0]!.file_id)?.bytes).toEqual(bytes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes the multipart form Telegram documents: media naming attach://report', async () => {
    const sent = await spinner();
    const { status, body } = await multipart('editMessageMedia', {
      chat_id: String(ALICE.id),
      message_id: String(sent.message_id),
      media: JSON.stringify({ type: 'photo', media: 'attach://report', caption: 'Your farm' }),
      reply_markup: JSON.stringify(menu),
      report: new Blob([png(1200, 800)], { type: 'image/png' }),
    });
    expect(status).toBe(200);
    expect(body.result).toMatchObject({
      photo: [{ width: 1200, height: 800 }],
      caption: 'Your farm',
      reply_markup: menu,
    });
    expect(body.result).not.toHaveProperty('text');
  });

  it('takes a photo by file_id or by URL, with no upload', async () => {
    const uploaded = await bot.sendPhoto(ALICE.id, new InputFile(png(300, 200), 'a.png'));
    const [size] = uploaded.photo;
    const first = await spinner();
    const byId = (await bot.editMessageMedia(ALICE.id, first.message_id, {
      type: 'photo',
      media: size!.file_id,
    })) as Message;
    expect(byId.photo).toEqual([size]);

    const served = png(90, 60);
    const server = await serve(served);
    try {
      const second = await spinner();
      const byUrl = (await bot.editMessageMedia(ALICE.id, second.message_id, {
        type: 'photo',
        media: `${server.url}/report.png`,
      })) as Message;
      expect(byUrl.photo).toMatchObject([{ width: 90, height: 60, file_size: served.length }]);
      const file = await bot.getFile(byUrl.photo![0]!.file_id);
      expect(await download(file.file_path!)).toEqual(served);

      const third = await spinner();
      expect(
        await failure(
          bot.editMessageMedia(ALICE.id, third.message_id, {
            type: 'photo',
            media: `${server.url}/missing.png`,
          }),
        ),
      ).toEqual(badRequest('failed to get HTTP URL content'));
      expect(
        await failure(
          bot.editMessageMedia(ALICE.id, third.message_id, { type: 'photo', media: server.url }),
        ),
      ).toEqual(badRequest('wrong type of the web page content'));
    } finally {
      await new Promise((resolve) => server.server.close(resolve));
    }
  });

  it('refuses an edit that shows the same photo, caption and keyboard', async () => {
    const sent = await spinner();
    const edited = (await bot.editMessageMedia(
      ALICE.id,
      sent.message_id,
      photoOf(png(64, 64), 'Report'),
    )) as Message;
    expect(
      await failure(
        bot.editMessageMedia(ALICE.id, sent.message_id, {
          type: 'photo',
          media: edited.photo![0]!.file_id,
          caption: 'Report',
        }),
      ),
    ).toEqual(
      badRequest(
        'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      ),
    );
  });

  it.each([
    ['no media', {}, 'parameter "media" is required'],
    ['media that is no JSON', { media: '{"type"' }, "can't parse input media JSON object"],
    ['media that is no object', { media: '[]' }, "can't parse InputMedia: expected an Object"],
    [
      'media without a type',
      { media: { media: 'x' } },
      'can\'t parse InputMedia: Can\'t find field "type"',
    ],
    [
      'an attach:// part that is not there',
      { media: { type: 'photo', media: 'attach://report' } },
      "can't parse InputMedia: media not found",
    ],
    [
      'a type Telegram does not have',
      { media: { type: 'sticker', media: 'x' } },
      'can\'t parse InputMedia: type "sticker" is unsupported',
    ],
    [
      'a video, which this server does not model',
      { media: { type: 'video', media: 'x' } },
      'can\'t parse InputMedia: type "video" is unsupported in this local server',
    ],
    [
      'a caption with broken HTML',
      { media: { type: 'photo', media: 'x', caption: '<b>Farm', parse_mode: 'HTML' } },
      "can't parse InputMedia: Can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    ],
    [
      'a caption over 1024 characters',
      { media: { type: 'photo', media: 'x', caption: 'a'.repeat(1025) } },
      'message caption is too long',
    ],
    [
      'a file_id this server never gave',
      { media: { type: 'photo', media: 'AgACAgIAAxkBAAIunknown' } },
      'wrong file identifier/HTTP URL specified',
    ],
    [
      'a message that is not there',
      { message_id: 99, media: { type: 'photo', media: 'x' } },
      'message to edit not found',
    ],
    [
      "the user's own message",
      { message_id: 1, media: { type: 'photo', media: 'x' } },
      "message media can't be edited",
    ],
  ])('refuses %s as Telegram does', async (_case, params, description) => {
    const sent = await spinner();
    expect(
      await call(api, 'editMessageMedia', {
        chat_id: ALICE.id,
        message_id: sent.message_id,
        ...params,
      }),
    ).toEqual({
      status: 400,
      body: { ok: false, error_code: 400, description: `Bad Request: ${description}` },
    });
    expect(api.messages(ALICE.id).map((message) => message.text)).toEqual([
      'Preparing your report…',
    ]);
  });

  it('refuses a document where a photo is wanted, and the other way round', async () => {
    const document = await bot.sendDocument(ALICE.id, new InputFile(Buffer.from('a,b\n'), 'x.csv'));
    const photo = await bot.sendPhoto(ALICE.id, new InputFile(png(10, 10), 'x.png'));
    const sent = await spinner();
    expect(
      await failure(
        bot.editMessageMedia(ALICE.id, sent.message_id, {
          type: 'photo',
          media: document.document.file_id,
        }),
      ),
    ).toEqual(badRequest("can't use file of type Document as Photo"));
    expect(await failure(bot.sendDocument(ALICE.id, photo.photo[0]!.file_id))).toEqual(
      badRequest("can't use file of type Photo as Document"),
    );
  });
});

describe("Telegram's limits on photos", () => {
  /** Sends the bytes as a photo both ways: a new message, and a text message edited into one. */
  async function bothWays(bytes: Buffer) {
    const sent = await spinner();
    return Promise.all([
      bot.sendPhoto(ALICE.id, new InputFile(bytes, 'p.png')),
      bot.editMessageMedia(ALICE.id, sent.message_id, photoOf(bytes)),
    ]);
  }

  it.each([
    [5000, 5000],
    [20, 1],
    [1, 20],
  ])('take %i×%i', async (width, height) => {
    for (const message of await bothWays(png(width, height))) {
      expect((message as Message).photo).toMatchObject([{ width, height }]);
    }
  });

  it.each([
    ['sides adding up to over 10000', 5001, 5000],
    ['10001×1', 10001, 1],
    ['a ratio over 20', 21, 1],
    ['a ratio over 20, upright', 1, 21],
  ])('refuse %s', async (_case, width, height) => {
    const bytes = png(width, height);
    const sent = await spinner();
    expect(await failure(bot.sendPhoto(ALICE.id, new InputFile(bytes, 'p.png')))).toEqual(
      badRequest('PHOTO_INVALID_DIMENSIONS'),
    );
    expect(await failure(bot.editMessageMedia(ALICE.id, sent.message_id, photoOf(bytes)))).toEqual(
      badRequest('PHOTO_INVALID_DIMENSIONS'),
    );
    expect(api.messages(ALICE.id).map((message) => message.text)).toEqual([
      'Preparing your report…',
    ]);
  });

  it("reads a JPEG's dimensions from its frame header", async () => {
    const bytes = jpegHeader(1024, 768);
    const sent = await bot.sendPhoto(ALICE.id, new InputFile(bytes, 'p.jpg'));
    expect(sent.photo).toMatchObject([{ width: 1024, height: 768, file_size: bytes.length }]);
    expect((await bot.getFile(sent.photo[0]!.file_id)).file_path).toMatch(
      /^photos\/file_\d+\.jpg$/,
    );
  });

  it('take 10 MB and refuse a byte more, before reading the picture', async () => {
    const padded = (size: number) => {
      const bytes = Buffer.alloc(size);
      png(800, 600).copy(bytes);
      return bytes;
    };
    const largest = await bot.sendPhoto(ALICE.id, new InputFile(padded(10 * MiB), 'p.png'));
    expect(largest.photo).toMatchObject([{ width: 800, height: 600, file_size: 10 * MiB }]);
    const sent = await spinner();
    expect(
      await failure(bot.editMessageMedia(ALICE.id, sent.message_id, photoOf(padded(10 * MiB + 1)))),
    ).toEqual(
      badRequest(
        'file of size 10485761 bytes is too big for a photo; the maximum size is 10485760 bytes',
      ),
    );
  });

  it('refuse what is no picture, and an empty file', async () => {
    const sent = await spinner();
    expect(
      await failure(
        bot.editMessageMedia(ALICE.id, sent.message_id, photoOf(Buffer.from('not a picture'))),
      ),
    ).toEqual(badRequest('IMAGE_PROCESS_FAILED'));
    expect(await failure(bot.sendPhoto(ALICE.id, new InputFile(Buffer.alloc(0), 'p.png')))).toEqual(
      badRequest('file must be non-empty'),
    );
  });

  it('answer a body over 50 MB with 413, as api.telegram.org does', async () => {
    const response = await fetch(`${api.url}/bot${TOKEN}/sendPhoto`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: Buffer.alloc(50 * MiB + 1),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      ok: false,
      error_code: 413,
      description: 'Request Entity Too Large',
    });
  });
});

describe('getFile and the file route', () => {
  it('serve the bytes the bot uploaded, under the file_path getFile gives', async () => {
    const bytes = png(320, 240);
    const sent = await bot.sendPhoto(ALICE.id, new InputFile(bytes, 'report.png'));
    const [size] = sent.photo;
    const file = await bot.getFile(size!.file_id);
    expect(file).toEqual({
      file_id: size!.file_id,
      file_unique_id: size!.file_unique_id,
      file_size: bytes.length,
      file_path: expect.stringMatching(/^photos\/file_\d+\.png$/) as string,
    });
    const response = await fetch(`${api.url}/file/bot${TOKEN}/${file.file_path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
    expect(api.file(size!.file_id)?.bytes).toEqual(bytes);

    const document = await bot.sendDocument(
      ALICE.id,
      new InputFile(Buffer.from('corn,3\n'), 'farm.csv'),
    );
    const documentFile = await bot.getFile(document.document.file_id);
    expect(documentFile.file_path).toMatch(/^documents\/file_\d+\.csv$/);
    expect((await download(documentFile.file_path!)).toString()).toBe('corn,3\n');
  });

  it('know no file that is not there, and serve none to another token', async () => {
    const sent = await bot.sendPhoto(ALICE.id, new InputFile(png(8, 8), 'p.png'));
    const file = await bot.getFile(sent.photo[0]!.file_id);
    expect(await call(api, 'getFile', {})).toMatchObject({
      status: 400,
      body: { description: 'Bad Request: file_id not specified' },
    });
    expect(await call(api, 'getFile', { file_id: 'AgACAgIAAxkBAAIunknown' })).toMatchObject({
      status: 400,
      body: { description: 'Bad Request: invalid file_id' },
    });
    for (const url of [
      `/file/bot${TOKEN}/photos/file_999.png`,
      `/file/bot123456789:other/${file.file_path}`,
    ]) {
      const response = await fetch(`${api.url}${url}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        ok: false,
        error_code: 404,
        description: 'Not Found',
      });
    }
  });

  it('forget the oldest files past the bytes they may keep', async () => {
    const small = await startTestBotApi({
      token: TOKEN,
      limits: false,
      retention: { fileBytes: 1000 },
    });
    try {
      await small.sendText(ALICE, 'hi');
      const smallBot = new Api(TOKEN, { apiRoot: small.url });
      const first = png(16, 16);
      const ids: string[] = [];
      for (let i = 0; i < 1000 / first.length + 1; i++) {
        const sent = await smallBot.sendPhoto(ALICE.id, new InputFile(first, 'p.png'));
        ids.push(sent.photo[0]!.file_id);
      }
      expect(small.file(ids[0]!)).toBeUndefined();
      expect(small.file(ids.at(-1)!)?.bytes).toEqual(first);
      expect(await failure(smallBot.getFile(ids[0]!))).toEqual(badRequest('invalid file_id'));
    } finally {
      await small.close();
    }
  });
});

async function download(filePath: string): Promise<Buffer> {
  const response = await fetch(`${api.url}/file/bot${TOKEN}/${filePath}`);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

/** An HTTP server with one picture at /report.png, an HTML page at /, and 404 elsewhere. */
async function serve(picture: Buffer): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    if (request.url === '/report.png')
      response.writeHead(200, { 'content-type': 'image/png' }).end(picture);
    else if (request.url === '/')
      response.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi</p>');
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
