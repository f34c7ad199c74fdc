import { Bot, GrammyError, InputFile } from 'grammy';
import type { Message, Update } from 'grammy/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestBotApi, startTestBotApi } from '../../../dev/bot-api';
import { ALICE, BOB, TOKEN, call, ok } from './helpers';

let api: TestBotApi;
let bot: Bot;

beforeEach(async () => {
  api = await startTestBotApi({ token: TOKEN, limits: false });
  bot = new Bot(TOKEN, { client: { apiRoot: api.url }, botInfo: api.botInfo });
});
afterEach(async () => {
  await api.close();
});

const menu = (data = 'plant') => ({ inline_keyboard: [[{ text: 'Plant', callback_data: data }]] });

/** What a failed grammY call reports. */
async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => expect.fail('the call succeeded'),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(GrammyError);
  const { error_code, description, parameters } = error as GrammyError;
  return { error_code, description, parameters };
}

const badRequest = (description: string) => ({
  error_code: 400,
  description: `Bad Request: ${description}`,
});

describe('the HTTP surface', () => {
  it('answers getMe with the bot, numbered after its token', async () => {
    const me = await ok(api, 'getMe');
    expect(me).toMatchObject({
      id: 123456789,
      is_bot: true,
      username: 'test_bot',
      can_join_groups: true,
    });
    expect(await bot.api.getMe()).toEqual(me);
  });

  it('takes botInfo overrides', async () => {
    const custom = await startTestBotApi({
      token: TOKEN,
      botInfo: { username: 'farmflow_bot', first_name: 'Farm' },
    });
    try {
      expect(await ok(custom, 'getMe')).toMatchObject({
        id: 123456789,
        username: 'farmflow_bot',
        first_name: 'Farm',
      });
    } finally {
      await custom.close();
    }
  });

  it('refuses a wrong token with 401 and what is no token with 404, and records both', async () => {
    expect(await call(api, 'getMe', {}, '123456789:wrong')).toEqual({
      status: 401,
      body: { ok: false, error_code: 401, description: 'Unauthorized' },
    });
    expect(await call(api, 'getMe', {}, 'nonsense')).toMatchObject({
      status: 404,
      body: { description: 'Not Found' },
    });
    expect(api.calls.map((c) => [c.method, c.response.ok])).toEqual([
      ['getMe', false],
      ['getMe', false],
    ]);
  });

  it('matches method names case-insensitively and fails unknown ones with 404', async () => {
    expect((await call(api, 'GETME')).body.ok).toBe(true);
    expect(api.calls[0]!.method).toBe('getMe');
    expect(await call(api, 'sendGift')).toMatchObject({
      status: 404,
      body: { ok: false, error_code: 404, description: 'Not Found: method not found' },
    });
  });

  it('reads parameters from a query string, a form and a multipart upload', async () => {
    await api.sendText(ALICE, 'hi');
    const viaGet = await fetch(
      `${api.url}/bot${TOKEN}/sendMessage?chat_id=${ALICE.id}&text=from%20GET`,
    );
    expect(((await viaGet.json()) as { result: Message }).result.text).toBe('from GET');

    const viaForm = await fetch(`${api.url}/bot${TOKEN}/sendMessage`, {
      method: 'POST',
      body: new URLSearchParams({
        chat_id: String(ALICE.id),
        text: 'from a form',
        reply_markup: JSON.stringify(menu()),
      }),
    });
    expect(((await viaForm.json()) as { result: Message }).result).toMatchObject({
      text: 'from a form',
      reply_markup: menu(),
    });

    const report = await bot.api.sendDocument(
      ALICE.id,
      new InputFile(Buffer.from('corn,3\n'), 'farm.csv'),
      {
        caption: '<b>Your</b> report',
        parse_mode: 'HTML',
      },
    );
    expect(report.document).toMatchObject({ file_name: 'farm.csv', file_size: 7 });
    expect(report).toMatchObject({
      caption: 'Your report',
      caption_entities: [{ type: 'bold', offset: 0, length: 4 }],
    });
    expect(api.messages(ALICE.id).map((m) => m.text)).toEqual([
      'from GET',
      'from a form',
      'Your report',
    ]);
  });
});

describe('sendMessage', () => {
  it('knows no chat that never wrote to the bot', async () => {
    expect(await failure(bot.api.sendMessage(ALICE.id, 'hello'))).toMatchObject(
      badRequest('chat not found'),
    );
  });

  it('returns the Message Telegram returns, numbered after the user message in the chat', async () => {
    await api.sendText(ALICE, '/start');
    const sent = await bot.api.sendMessage(ALICE.id, 'Welcome to the farm', {
      reply_markup: menu(),
    });
    expect(sent).toEqual({
      message_id: 2,
      from: { ...api.botInfo },
      chat: { id: ALICE.id, type: 'private', first_name: 'Alice', username: 'alice' },
      date: expect.any(Number) as number,
      text: 'Welcome to the farm',
      reply_markup: menu(),
    });
    expect(Math.abs(sent.date - Date.now() / 1000)).toBeLessThan(5);
    expect((await bot.api.sendMessage(ALICE.id, 'again')).message_id).toBe(3);
  });

  it('accepts any chat when told to, for local play across restarts', async () => {
    const open = await startTestBotApi({ token: TOKEN, acceptUnknownChats: true, limits: false });
    try {
      expect(
        await ok(open, 'sendMessage', { chat_id: 42, text: 'your corn is ready' }),
      ).toMatchObject({
        chat: { id: 42, type: 'private' },
      });
    } finally {
      await open.close();
    }
  });

  it.each([
    ['an empty text', { text: '' }, 'message text is empty'],
    ['a text of whitespace only', { text: ' \n ' }, 'text must be non-empty'],
    ['4097 characters', { text: 'a'.repeat(4097) }, 'message is too long'],
    ['an unknown parse_mode', { text: 'x', parse_mode: 'XML' }, 'unsupported parse_mode'],
    [
      'an unclosed HTML tag',
      { text: '<b>bold', parse_mode: 'HTML' },
      'can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
    ],
    [
      'an unescaped < in HTML',
      { text: 'Price < 5', parse_mode: 'HTML' },
      'can\'t parse entities: Unsupported start tag "" at byte offset 6',
    ],
    [
      'callback data over 64 bytes',
      {
        text: 'x',
        reply_markup: { inline_keyboard: [[{ text: 'b', callback_data: 'é'.repeat(33) }]] },
      },
      'BUTTON_DATA_INVALID',
    ],
    [
      'an inline button with nothing to do',
      { text: 'x', reply_markup: { inline_keyboard: [[{ text: 'Plant' }]] } },
      "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    ],
    [
      'an inline button with empty callback data',
      { text: 'x', reply_markup: { inline_keyboard: [[{ text: 'Plant', callback_data: '' }]] } },
      "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    ],
    [
      'an inline button without text',
      { text: 'x', reply_markup: { inline_keyboard: [[{ callback_data: 'plant' }]] } },
      'can\'t parse inline keyboard button: Can\'t find field "text"',
    ],
    [
      'a flat inline keyboard',
      { text: 'x', reply_markup: { inline_keyboard: [{ text: 'Plant', callback_data: 'p' }] } },
      'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
    ],
    [
      'reply_markup that is no JSON',
      { text: 'x', reply_markup: '{inline_keyboard' },
      "can't parse reply keyboard markup JSON object",
    ],
    [
      'a reply to a message that is not there',
      { text: 'x', reply_parameters: { message_id: 99 } },
      'message to be replied not found',
    ],
  ])('refuses %s as Telegram does', async (_case, params, description) => {
    await api.sendText(ALICE, 'hi');
    expect(await call(api, 'sendMessage', { chat_id: ALICE.id, ...params })).toEqual({
      status: 400,
      body: { ok: false, error_code: 400, description: `Bad Request: ${description}` },
    });
    expect(api.messages(ALICE.id)).toEqual([]);
  });

  // Telegram takes both; the bot sends HTML only, so this local server parses no other mode.
  it.each(['MarkdownV2', 'Markdown'])(
    'answers %s 400, saying it parses HTML only',
    async (mode) => {
      await api.sendText(ALICE, 'hi');
      expect(
        await call(api, 'sendMessage', { chat_id: ALICE.id, text: '*bold*', parse_mode: mode }),
      ).toEqual({
        status: 400,
        body: {
          ok: false,
          error_code: 400,
          description: `Bad Request: unsupported parse_mode in this local server: ${mode} (only HTML)`,
        },
      });
      expect(api.messages(ALICE.id)).toEqual([]);
    },
  );

  it('takes the limits at their edge: 4096 characters (an emoji is one), 64 bytes of callback data', async () => {
    await api.sendText(ALICE, 'hi');
    expect((await bot.api.sendMessage(ALICE.id, '🌽'.repeat(4096))).text).toHaveLength(8192);
    const data = 'é'.repeat(32);
    const sent = await bot.api.sendMessage(ALICE.id, 'x', { reply_markup: menu(data) });
    expect(sent.reply_markup).toEqual(menu(data));
  });

  it('parses HTML into text and entities, as the chat shows it', async () => {
    await api.sendText(ALICE, 'hi');
    const source = '<b>Farm</b> &amp; <i>co</i> <a href="https://farm.example">site</a>';
    const sent = await bot.api.sendMessage(ALICE.id, source, { parse_mode: 'HTML' });
    expect(sent.text).toBe('Farm & co site');
    expect(sent.entities).toEqual([
      { type: 'bold', offset: 0, length: 4 },
      { type: 'italic', offset: 7, length: 2 },
      { type: 'text_link', offset: 10, length: 4, url: 'https://farm.example' },
    ]);
    expect(api.messages(ALICE.id)[0]).toMatchObject({
      text: 'Farm & co site',
      source,
      parse_mode: 'HTML',
    });
  });

  it('replies to a message the chat holds', async () => {
    await api.sendText(ALICE, 'how is my corn?');
    const sent = await bot.api.sendMessage(ALICE.id, 'growing', {
      reply_parameters: { message_id: 1 },
    });
    expect(sent.reply_to_message).toMatchObject({ message_id: 1, text: 'how is my corn?' });
  });

  it('gets 403 in a chat whose user blocked the bot, who learns it from my_chat_member', async () => {
    await api.sendText(ALICE, 'hi');
    const blocked = await api.blockChat(ALICE.id);
    expect(api.updates.get(blocked.updateId)?.my_chat_member).toMatchObject({
      chat: { id: ALICE.id },
      from: { id: ALICE.id },
      old_chat_member: { status: 'member', user: { id: api.botInfo.id } },
      new_chat_member: { status: 'kicked' },
    });
    expect(await failure(bot.api.sendMessage(ALICE.id, 'your corn is ready'))).toEqual({
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
      parameters: {},
    });
    await api.unblockChat(ALICE.id);
    await expect(bot.api.sendMessage(ALICE.id, 'welcome back')).resolves.toMatchObject({
      text: 'welcome back',
    });
  });
});

describe('editing and deleting', () => {
  async function sentMenu() {
    await api.sendText(ALICE, '/start');
    return bot.api.sendMessage(ALICE.id, 'Your farm', { reply_markup: menu() });
  }

  it('edits the text, and messages() shows the chat as it is now', async () => {
    const sent = await sentMenu();
    const edited = (await bot.api.editMessageText(
      ALICE.id,
      sent.message_id,
      '<b>Corn</b> planted',
      {
        parse_mode: 'HTML',
        reply_markup: menu('harvest'),
      },
    )) as Message;
    expect(edited).toMatchObject({
      message_id: sent.message_id,
      text: 'Corn planted',
      entities: [{ type: 'bold', offset: 0, length: 4 }],
      reply_markup: menu('harvest'),
      edit_date: expect.any(Number) as number,
    });
    expect(api.messages(ALICE.id)).toEqual([
      {
        message_id: sent.message_id,
        text: 'Corn planted',
        source: '<b>Corn</b> planted',
        parse_mode: 'HTML',
        entities: [{ type: 'bold', offset: 0, length: 4 }],
        reply_markup: menu('harvest'),
        date: sent.date,
        edit_date: edited.edit_date,
        message: edited,
      },
    ]);
  });

  it('refuses an edit that changes nothing', async () => {
    const sent = await sentMenu();
    expect(
      await failure(
        bot.api.editMessageText(ALICE.id, sent.message_id, 'Your farm', { reply_markup: menu() }),
      ),
    ).toMatchObject(
      badRequest(
        'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      ),
    );
  });

  it('drops the keyboard of a message edited without reply_markup, as Telegram does', async () => {
    const sent = await sentMenu();
    const edited = (await bot.api.editMessageText(
      ALICE.id,
      sent.message_id,
      'Your farm',
    )) as Message;
    expect(edited.reply_markup).toBeUndefined();
    expect(api.messages(ALICE.id)[0]!.reply_markup).toBeUndefined();
  });

  it('edits the keyboard alone', async () => {
    const sent = await sentMenu();
    await bot.api.editMessageReplyMarkup(ALICE.id, sent.message_id, { reply_markup: menu('sell') });
    expect(api.messages(ALICE.id)[0]).toMatchObject({
      text: 'Your farm',
      reply_markup: menu('sell'),
    });
  });

  it('finds no message to edit that is not there, and edits no user message', async () => {
    await sentMenu();
    expect(await failure(bot.api.editMessageText(ALICE.id, 99, 'x'))).toMatchObject(
      badRequest('message to edit not found'),
    );
    expect(await failure(bot.api.editMessageText(ALICE.id, 1, 'x'))).toMatchObject(
      badRequest("message can't be edited"),
    );
  });

  it('deletes a message once', async () => {
    const sent = await sentMenu();
    expect(await bot.api.deleteMessage(ALICE.id, sent.message_id)).toBe(true);
    expect(api.messages(ALICE.id)).toEqual([]);
    expect(await failure(bot.api.deleteMessage(ALICE.id, sent.message_id))).toMatchObject(
      badRequest('message to delete not found'),
    );
    expect(await failure(bot.api.editMessageText(ALICE.id, sent.message_id, 'x'))).toMatchObject(
      badRequest('message to edit not found'),
    );
  });
});

describe('callback queries', () => {
  async function pressed(): Promise<Update> {
    await api.sendText(ALICE, '/start');
    const sent = await bot.api.sendMessage(ALICE.id, 'Your farm', { reply_markup: menu() });
    const { updateId } = await api.pressButton(
      ALICE,
      { chat_id: ALICE.id, message_id: sent.message_id },
      'plant',
    );
    return api.updates.get(updateId)!;
  }

  it('carries the message as the chat shows it', async () => {
    const update = await pressed();
    expect(update.callback_query).toMatchObject({
      from: { id: ALICE.id, is_bot: false, first_name: 'Alice' },
      message: { message_id: 2, text: 'Your farm', reply_markup: menu() },
      chat_instance: expect.any(String) as string,
      data: 'plant',
    });
  });

  it('are answered once, with at most 200 characters', async () => {
    const { id } = (await pressed()).callback_query!;
    expect(await failure(bot.api.answerCallbackQuery(id, { text: 'x'.repeat(201) }))).toMatchObject(
      badRequest('MESSAGE_TOO_LONG'),
    );
    expect(await bot.api.answerCallbackQuery(id, { text: '🌽'.repeat(200) })).toBe(true);
    expect(await failure(bot.api.answerCallbackQuery(id))).toMatchObject(
      badRequest('query is too old and response timeout expired or query ID is invalid'),
    );
  });

  it('come only from buttons the chat shows', async () => {
    await pressed();
    await expect(
      api.pressButton(ALICE, { chat_id: ALICE.id, message_id: 2 }, 'sell'),
    ).rejects.toThrow('has no button with callback_data "sell"');
    await expect(
      api.pressButton(ALICE, { chat_id: ALICE.id, message_id: 1 }, 'plant'),
    ).rejects.toThrow('shows no bot message 1');
  });
});

describe('simulated users', () => {
  it('send commands with the entities Telegram adds, in private chats and groups', async () => {
    const { updateId } = await api.sendText(ALICE, '/start ref42');
    expect(api.updates.get(updateId)!.message).toMatchObject({
      message_id: 1,
      from: { id: ALICE.id, is_bot: false, first_name: 'Alice', username: 'alice' },
      chat: { id: ALICE.id, type: 'private', first_name: 'Alice' },
      text: '/start ref42',
      entities: [{ type: 'bot_command', offset: 0, length: 6 }],
    });

    const inGroup = await api.sendText(BOB, 'hey /help@test_bot', { id: -4001, title: 'Farmers' });
    expect(api.updates.get(inGroup.updateId)!.message).toMatchObject({
      chat: { id: -4001, type: 'group', title: 'Farmers' },
      from: { id: BOB.id },
      entities: [{ type: 'bot_command', offset: 4, length: 14 }],
    });
    expect(
      api.updates.get((await api.sendText(BOB, 'no command here')).updateId)!.message!.entities,
    ).toBeUndefined();
  });

  it('deliver raw updates of any kind, whose chats become known', async () => {
    const channelPost = await api.deliver({
      channel_post: {
        message_id: 7,
        date: 1,
        chat: { id: -1002001, type: 'channel', title: 'News' },
        text: 'hi',
      },
    });
    const sticker = await api.deliver({
      message: {
        message_id: 3,
        date: 1,
        chat: { id: BOB.id, type: 'private', first_name: 'Bob' },
        from: { id: BOB.id, is_bot: false, first_name: 'Bob' },
        sticker: {
          file_id: 'f',
          file_unique_id: 'u',
          type: 'regular',
          width: 512,
          height: 512,
          is_animated: false,
          is_video: false,
        },
      },
    });
    const future = await api.deliver({ some_future_kind: { x: 1 } } as never);
    expect(sticker.updateId).toBe(channelPost.updateId + 1);
    expect(api.updates.get(future.updateId)).toEqual({
      update_id: future.updateId,
      some_future_kind: { x: 1 },
    });
    // Bob's chat is known now, and its next message follows the delivered one.
    expect((await bot.api.sendMessage(BOB.id, 'nice sticker')).message_id).toBe(4);
  });
});
