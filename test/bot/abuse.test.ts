/**
 * Everything Telegram and players throw at the bot: floods, stickers, edits, groups, channels,
 * membership changes, inline queries, tampered and stale buttons, over-long texts, unknown update
 * kinds. Each gets a polite answer or silence and a 200, never a crash, a 5xx or a failed workflow.
 */
import type { Update } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userHash } from '../../infra/identity';
import { createPlayerRegistry } from '../../store/players';
import { newTelegramUser, startTestBot, type TestBot, WEBHOOK_SECRET } from '../support/bot';
import { sleepMs, TEST_SECRET } from '../support/game';
import { isNotification, lastMessage, press } from '../support/telegram';

/**
 * Failed workflows on this bot's task queues (its farms and its per-message workflows): other
 * test files share the dev server's namespace, and their failures are theirs to report.
 */
async function failedWorkflows(bot: TestBot): Promise<string[]> {
  const queues = [bot.t.taskQueue, `${bot.t.taskQueue}-menu`];
  const query = `ExecutionStatus = "Failed" AND (${queues.map((q) => `TaskQueue = "${q}"`).join(' OR ')})`;
  const failed = [];
  for await (const wf of bot.t.client.workflow.list({ query })) failed.push(wf.workflowId);
  return failed;
}

/** Update ids of updates posted straight to the webhook, far from the test server's own. */
let directUpdateId = Math.floor(Math.random() * 1e9);

/**
 * POSTs an update straight to the bot's webhook with the right secret, as Telegram would if it
 * sent a kind the bot's allowed_updates leave out (the test server drops those, as Telegram does).
 */
async function postToWebhook(bot: TestBot, payload: Record<string, unknown>): Promise<number> {
  const response = await fetch(bot.webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-telegram-bot-api-secret-token': WEBHOOK_SECRET,
    },
    body: JSON.stringify({ update_id: ++directUpdateId, ...payload }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('the bot under abuse', () => {
  let b: TestBot;
  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook' });
  });
  afterAll(async () => {
    // No workflow of this file's players failed.
    expect(await failedWorkflows(b)).toEqual([]);
    await b.close();
  });

  const userMessage = (user: { id: number; first_name: string }, extra: Record<string, unknown>) =>
    ({
      message: {
        message_id: Math.floor(Math.random() * 1e6),
        date: Math.floor(Date.now() / 1000),
        chat: { id: user.id, type: 'private', first_name: user.first_name },
        from: { ...user, is_bot: false },
        ...extra,
      },
    }) as unknown as Omit<Update, 'update_id'>;

  it('slows a flooding player politely without slowing anyone else', async () => {
    const flooder = newTelegramUser();
    const other = newTelegramUser();
    const flood = Array.from({ length: 50 }, (_, i) => b.api.sendText(flooder, `hello ${i}`));
    const otherStart = b.api.sendText(other, '/start');
    const statuses = (await Promise.all([...flood, otherStart])).map((d) => d.status);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(lastMessage(b.api, other.id).text).toMatch(/Your farm/);

    const replies = b.api.messages(flooder.id).map((m) => m.text);
    expect(replies.filter((t) => /Easy there/.test(t))).toHaveLength(1);
    expect(replies.length).toBeLessThan(15);
  });

  it('slows a flood from user id 0, or a negative id, like any other player', async () => {
    // Telegram's user ids are positive: these come only from forged updates, which must not
    // escape the per-player limit.
    const ids = [0, -42];
    const floods = ids.map((id) =>
      Array.from({ length: 20 }, (_, i) => b.api.sendText({ id, first_name: 'Forged' }, `hi ${i}`)),
    );
    const statuses = (await Promise.all(floods.flat())).map((d) => d.status);
    expect(new Set(statuses)).toEqual(new Set([200]));
    for (const id of ids) {
      const replies = b.api.messages(id).map((m) => m.text);
      expect(
        replies.filter((t) => /Easy there/.test(t)),
        `id ${id}`,
      ).toHaveLength(1);
      expect(replies.length, `id ${id}`).toBeLessThan(15);
    }
  });

  it('answers stickers, photos and over-long texts with a hint, and ignores edits', async () => {
    const user = newTelegramUser();
    const sticker = await b.api.deliver(
      userMessage(user, {
        sticker: {
          file_id: 's',
          file_unique_id: 's',
          type: 'regular',
          width: 1,
          height: 1,
          is_animated: false,
          is_video: false,
        },
      }),
    );
    const photo = await b.api.deliver(
      userMessage(user, { photo: [{ file_id: 'p', file_unique_id: 'p', width: 1, height: 1 }] }),
    );
    const long = await b.api.sendText(user, 'x'.repeat(4096));
    expect([sticker.status, photo.status, long.status]).toEqual([200, 200, 200]);
    expect(b.api.messages(user.id).map((m) => m.text)).toEqual(
      Array(3).fill(expect.stringMatching(/buttons/)),
    );

    const edit = { ...userMessage(user, { text: 'changed', edit_date: 1 }).message! };
    // Not in the bot's allowed_updates: Telegram does not send edits at all.
    const edited = await b.api.deliver({ edited_message: edit } as Omit<Update, 'update_id'>);
    expect(edited).toMatchObject({ filtered: true });
    // And one that comes anyway gets a 200 and silence.
    expect(await postToWebhook(b, { edited_message: edit })).toBe(200);
    expect(b.api.messages(user.id)).toHaveLength(3);
  });

  it('points groups to a private chat on commands and stays silent otherwise; ignores channel posts', async () => {
    const user = newTelegramUser();
    const group = { id: -1_000_000_000 - user.id, type: 'group' as const, title: 'Farmers' };
    expect((await b.api.sendText(user, '/start', group)).status).toBe(200);
    expect(b.api.messages(group.id).map((m) => m.text)).toEqual([
      expect.stringMatching(/private chat/),
    ]);
    expect((await b.api.sendText(user, 'hi all', group)).status).toBe(200);
    expect(b.api.messages(group.id)).toHaveLength(1);

    const channel = { id: -1_001_000_000 - user.id, type: 'channel', title: 'News' };
    const channelPost = {
      message_id: 1,
      date: 0,
      chat: channel,
      text: '/start',
      sender_chat: channel,
    };
    const post = await b.api.deliver({ channel_post: channelPost } as unknown as Omit<
      Update,
      'update_id'
    >);
    // Not in the bot's allowed_updates: Telegram does not even send it; if it did, a 200.
    expect(post).toMatchObject({ filtered: true });
    expect(await postToWebhook(b, { channel_post: channelPost })).toBe(200);
    expect(b.api.messages(channel.id)).toEqual([]);
  });

  it('marks a player inactive when they block the bot and active again when they unblock it', async () => {
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    const registry = createPlayerRegistry(b.redis, b.keyPrefix);
    const hash = userHash(user.id, TEST_SECRET);
    await expect.poll(() => registry.get(hash)).toMatchObject({ active: true });
    expect((await b.api.blockChat(user.id)).status).toBe(200);
    await expect.poll(() => registry.get(hash)).toMatchObject({ active: false });
    expect((await b.api.unblockChat(user.id)).status).toBe(200);
    await expect.poll(() => registry.get(hash)).toMatchObject({ active: true });
  });

  it('answers tampered and unknown buttons, and buttons of old messages still work', async () => {
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    const first = lastMessage(b.api, user.id);
    for (const data of ['1:p:0:banana', '9:f', '1:h:99', '1:s:wheat:-1', '{"x":1}', '1:f:extra']) {
      const delivery = await b.api.deliver({
        callback_query: {
          id: `cq-${Math.random()}`,
          chat_instance: 'ci',
          from: { ...user, is_bot: false },
          message: first.message,
          data,
        },
      });
      expect(delivery.status, data).toBe(200);
    }
    const staleAnswers = b.api.calls.filter(
      (c) => c.method === 'answerCallbackQuery' && /no longer valid/.test(String(c.params.text)),
    );
    expect(staleAnswers.length).toBeGreaterThanOrEqual(6);

    await sleepMs(2100); // past the per-player flood window those presses used up
    await b.api.sendText(user, '/farm');
    expect(lastMessage(b.api, user.id).message_id).not.toBe(first.message_id);
    // The first message's keyboard is still shown: its buttons keep working.
    const plant = first
      .reply_markup!.inline_keyboard.flat()
      .find((x) => /Plant on 2/.test(x.text))!;
    const old = await b.api.pressButton(
      user,
      { chat_id: user.id, message_id: first.message_id },
      (plant as { callback_data: string }).callback_data,
    );
    expect(old.status).toBe(200);
    expect(b.api.messages(user.id)[0]?.text).toMatch(/What to plant on plot 2/);
  });

  it('ignores inline queries and update kinds it does not know', async () => {
    const user = newTelegramUser();
    const inlineQuery = { id: 'iq', from: { ...user, is_bot: false }, query: 'corn', offset: '' };
    const unknownKind = { quantum_entanglement: { spin: 'up' } };
    // Neither is in the bot's allowed_updates: Telegram drops them before they are sent.
    const inline = await b.api.deliver({ inline_query: inlineQuery });
    const unknown = await b.api.deliver(unknownKind as unknown as Omit<Update, 'update_id'>);
    expect([inline.filtered, unknown.filtered]).toEqual([true, true]);
    // Sent anyway, each is answered 200 and nothing is written to anyone.
    const callsBefore = b.api.calls.length;
    expect(await postToWebhook(b, { inline_query: inlineQuery })).toBe(200);
    expect(await postToWebhook(b, unknownKind)).toBe(200);
    await sleepMs(50);
    expect(b.api.calls.slice(callsBefore)).toEqual([]);
    expect(b.api.messages(user.id)).toEqual([]);
  });

  it('a slow operation shows "working…" first, then the result in the same message; a redelivery leaves the reply', async () => {
    const slow = await startTestBot({ mode: 'webhook', workingAfterMs: 0 });
    try {
      const user = newTelegramUser();
      await slow.api.sendText(user, '/start');
      const messages = slow.api.messages(user.id);
      expect(messages).toHaveLength(1);
      expect(messages[0]?.text).toMatch(/Your farm/);
      expect(
        slow.api.calls.some(
          (c) => c.method === 'sendMessage' && /Working/.test(String(c.params.text)),
        ),
      ).toBe(true);

      await press(slow.api, user, /Bonus/);
      const edits = slow.api.calls
        .filter((c) => c.method === 'editMessageText')
        .map((c) => String(c.params.text));
      expect(edits.at(-2)).toMatch(/Working/);
      expect(edits.at(-1)).toMatch(/Daily bonus/);
      expect(await failedWorkflows(slow)).toEqual([]);

      // Telegram delivers both again (their 200s were lost, or they were answered 503 after the
      // reply went out): the replies stand, with no "working…" over or after them. (The chaos
      // play found presses left at "working…" this way.)
      const farm = slow.api.messages(user.id).filter((m) => !isNotification(m));
      const bonus = [...slow.api.updates.values()].filter((u) => u.callback_query).at(-1)!;
      const before = slow.api.calls.length;
      expect((await slow.api.redeliver(bonus.update_id)).status).toBe(200);
      const start = [...slow.api.updates.values()].find((u) => u.message?.text === '/start')!;
      expect((await slow.api.redeliver(start.update_id)).status).toBe(200);
      expect(slow.api.messages(user.id).filter((m) => !isNotification(m))).toEqual(farm);
      expect(farm.at(-1)!.text).toMatch(/Daily bonus/);
      expect(
        slow.api.calls
          .slice(before)
          .filter((c) => c.method !== 'answerCallbackQuery')
          .map((c) => c.method),
      ).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});
