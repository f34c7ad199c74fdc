/**
 * sendNotification in MockActivityEnvironment (no Temporal server) against the real Redis and the
 * local test Bot API server (Telegram itself cannot be reached here): an attempt that runs again
 * after its completion was lost (a killed bot process, a restarted Temporal server) finds the
 * sent mark and sends nothing; another notification still goes out.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNotificationActivities } from '../../activities/notifications';
import { renderNotification } from '../../bot/notifications';
import { startTestBotApi, type TestBotApi } from '../../dev/bot-api';
import { chatIdKeyring, encryptChatId } from '../../infra/identity';
import { createLogger } from '../../infra/logging';
import { connectRedis, type RedisClient } from '../../store/redis';
import type { SendNotificationInput } from '../../workflows/contract';
import { REDIS_URL } from '../support/constants';
import { TEST_SECRET } from '../support/game';

const TOKEN = '123456:notifications-activity-test';
const CHAT = 5_550_001;

describe('sendNotification', () => {
  let api: TestBotApi;
  let redis: RedisClient;
  let keyPrefix: string;
  beforeAll(async () => {
    api = await startTestBotApi({ token: TOKEN, acceptUnknownChats: true });
    redis = await connectRedis(REDIS_URL, createLogger('warn'));
    keyPrefix = `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`;
  });
  afterAll(async () => {
    await api?.close();
    await redis?.close();
  });

  const sent = () => api.calls.filter((call) => call.method === 'sendMessage').length;

  it('sends a notification once, however often its attempt runs', async () => {
    const activities = createNotificationActivities({
      api: new Api(TOKEN, { apiRoot: api.url }),
      chatIdKeys: chatIdKeyring(TEST_SECRET),
      render: renderNotification,
      redis,
      keyPrefix,
    });
    const input = (
      notificationId: string,
      player = { userHash: 'abcdefghijklmnop', chat: CHAT },
    ): SendNotificationInput => ({
      notificationId,
      userHash: player.userHash,
      sealedChatId: encryptChatId(player.chat, TEST_SECRET),
      content: { topic: 'reward', coins: 100, xp: 5, reason: 'test', message: 'A reward, once.' },
    });
    const env = new MockActivityEnvironment();
    const sendNotification = (notification: SendNotificationInput) =>
      activities.sendNotification(notification);

    expect(await env.run(sendNotification, input('grant-a'))).toEqual({ outcome: 'sent' });
    // The completion was lost: Temporal runs the activity again.
    expect(await env.run(sendNotification, input('grant-a'))).toEqual({ outcome: 'sent' });
    expect(sent()).toBe(1);
    expect(await redis.exists(`${keyPrefix}notification-sent:abcdefghijklmnop:grant-a`)).toBe(1);

    expect(await env.run(sendNotification, input('grant-b'))).toEqual({ outcome: 'sent' });
    expect(sent()).toBe(2);
    expect(api.messages(CHAT).map((message) => message.text)).toEqual([
      expect.stringContaining('A reward, once.'),
      expect.stringContaining('A reward, once.'),
    ]);

    // An id names what is said, not to whom (an announcement's is the same for every player).
    const other = { userHash: 'qrstuvwxyzabcdef', chat: CHAT + 1 };
    expect(await env.run(sendNotification, input('grant-b', other))).toEqual({ outcome: 'sent' });
    expect(sent()).toBe(3);
    expect(api.messages(CHAT + 1)).toHaveLength(1);
  });
});
