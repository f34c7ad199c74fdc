/**
 * Notifications as players get them, through the bot process as it runs in production: farms on
 * the real dev server queue them, the bot process's notifications worker sends them through the
 * same outgoing pacing as the replies (Redis), and the local Bot API server enforces Telegram's
 * limits (30 a second, about 1 a second per chat with bursts of 3) with 429s. Telegram is the one
 * thing mocked: it cannot be reached from here.
 */
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedCall } from '../../dev/bot-api';
import { userHash } from '../../infra/identity';
import { createPlayerRegistry } from '../../store/players';
import {
  farmWorkflowId,
  type FarmLogEntry,
  getFarmLogQuery,
  getFarmQuery,
  noticeSignal,
} from '../../workflows/contract';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { nextUpdateId, sleepMs, TEST_SECRET } from '../support/game';
import { lastMessage, lastNotification, press } from '../support/telegram';

const PLAYERS = 200;
const REPLYING_PLAYERS = 6;

describe('notifications through the bot process', () => {
  let b: TestBot;
  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook', acceptUnknownChats: true });
  });
  afterAll(() => b.close());

  const farmOf = (telegramUserId: number) =>
    b.t.client.workflow.getHandle(farmWorkflowId(userHash(telegramUserId, TEST_SECRET)));
  const sentTo = (chatId: number) => (call: RecordedCall) =>
    call.method === 'sendMessage' && Number(call.params.chat_id) === chatId;
  const notificationsOf = async (telegramUserId: number) =>
    (await farmOf(telegramUserId).query(getFarmLogQuery)).filter(
      (entry): entry is Extract<FarmLogEntry, { kind: 'notification' }> =>
        entry.kind === 'notification',
    );

  it('a player turns crop-ready messages off with the button on one of them', async () => {
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    await press(b.api, user, /Plant on 1/);
    await press(b.api, user, /Wheat/);
    const ready = await b.api.waitForCall(
      (call) => sentTo(user.id)(call) && call.params.text === '🌾 Your wheat is ready!',
      20_000,
    );
    expect(ready.response.ok).toBe(true);
    expect(lastNotification(b.api, user.id).text).toBe('🌾 Your wheat is ready!');

    await press(b.api, user, /Turn notifications off/);
    expect(lastMessage(b.api, user.id).text).toMatch(/🔕 Notifications off/);
    await press(b.api, user, /Harvest/);
    await press(b.api, user, /Plant on 1/);
    await press(b.api, user, /Wheat/);

    // The farm decides: the second wave is logged as skipped, and nothing is sent.
    await expect
      .poll(
        async () => (await notificationsOf(user.id)).map((entry) => entry.skipped ?? entry.outcome),
        {
          timeout: 20_000,
          interval: 100,
        },
      )
      .toEqual(['notifications off', 'sent']);
    expect(
      b.api.calls.filter(
        (call) => sentTo(user.id)(call) && /is ready/.test(String(call.params.text)),
      ),
    ).toHaveLength(1);
  });

  it('blocking and unblocking the bot tell the farm, which owns reachability', async () => {
    const user = newTelegramUser();
    await b.api.sendText(user, '/start');
    const farm = farmOf(user.id);
    const registry = createPlayerRegistry(b.redis, b.keyPrefix);
    const hash = userHash(user.id, TEST_SECRET);

    const reachable = async () => (await farm.query(getFarmQuery)).profile?.reachable;
    expect((await b.api.blockChat(user.id)).status).toBe(200);
    await expect.poll(reachable).toBe(false);
    expect(await registry.get(hash)).toMatchObject({ active: false });
    expect((await b.api.unblockChat(user.id)).status).toBe(200);
    await expect.poll(reachable).toBe(true);
    expect(await registry.get(hash)).toMatchObject({ active: true });

    // Someone without a farm: nothing to tell, nothing written.
    const stranger = newTelegramUser();
    expect((await b.api.blockChat(stranger.id)).status).toBe(200);
    expect(await registry.get(userHash(stranger.id, TEST_SECRET))).toBeNull();
  });

  it(`an announcement to ${PLAYERS} players and replies flow together: no 429, replies keep going`, async () => {
    // Players whose farms exist (created as a first message creates them).
    const players = Array.from({ length: PLAYERS }, () => newTelegramUser());
    const start = pLimit(16);
    await Promise.all(
      players.map((user) =>
        start(() =>
          b.service.game.handleIntent(
            { telegramUserId: user.id, chatId: user.id },
            { type: 'query' },
            nextUpdateId(),
          ),
        ),
      ),
    );
    const talkers = Array.from({ length: REPLYING_PLAYERS }, () => newTelegramUser());
    for (const user of talkers) expect((await b.api.sendText(user, '/start')).status).toBe(200);
    const firstCall = b.api.calls.length;

    const endsAtMs = Date.now() + 10 * 60_000;
    const tell = pLimit(32);
    await Promise.all(
      players.map((user) =>
        tell(() =>
          farmOf(user.id).signal(noticeSignal, {
            notificationId: 'test-fair-announcement',
            content: {
              topic: 'announcement',
              eventId: 'test-fair',
              name: 'Test Fair',
              text: 'Prices are up!',
              endsAtMs,
            },
            notAfterMs: endsAtMs,
            batchId: 'test-fair',
          }),
        ),
      ),
    );

    // Meanwhile each talker keeps asking for their farm, one message after the other.
    const announcement = (call: RecordedCall) =>
      call.method === 'sendMessage' && String(call.params.text).startsWith('🎪 <b>Test Fair</b>');
    const delivered = () => b.api.calls.slice(firstCall).filter(announcement).length;
    const replyStatuses: (number | undefined)[] = [];
    await Promise.all(
      talkers.map(async (user) => {
        while (delivered() < PLAYERS) {
          replyStatuses.push((await b.api.sendText(user, '/farm')).status);
          await sleepMs(100);
        }
      }),
    );

    const calls = b.api.calls.slice(firstCall);
    const sent = calls.filter(announcement);
    expect(sent.filter((call) => !call.response.ok).map((call) => call.response)).toEqual([]);
    expect(new Set(sent.map((call) => Number(call.params.chat_id))).size).toBe(PLAYERS);
    expect(calls.filter((call) => !call.response.ok && call.response.error_code === 429)).toEqual(
      [],
    );

    // Replies went out while the announcement did, each update answered with its reply.
    const [first, last] = [sent[0]!.at, sent.at(-1)!.at];
    const talkerIds = new Set(talkers.map((user) => user.id));
    const replies = calls.filter(
      (call) => call.method === 'sendMessage' && talkerIds.has(Number(call.params.chat_id)),
    );
    expect(replies.filter((call) => call.at > first && call.at < last).length).toBeGreaterThan(0);
    expect(replyStatuses.every((status) => status === 200)).toBe(true);
    expect(replies.every((call) => call.response.ok)).toBe(true);

    // Every farm has it on record as sent, with the batch that sent it.
    for (const user of players.slice(0, 5)) {
      expect((await notificationsOf(user.id))[0]).toMatchObject({
        topic: 'announcement',
        outcome: 'sent',
        batchId: 'test-fair',
      });
    }
  }, 180_000);
});
