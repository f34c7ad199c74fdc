/** Reading the chat as a player sees it on the test Bot API server, and pressing its buttons. */
import { expect } from 'vitest';
import { isNotification } from '../../bot/notifications';
import type { TestBotApi, UserLike } from '../../dev/bot-api';

type Message = ReturnType<TestBotApi['messages']>[number];

const labelsOf = (message: Message) =>
  (message.reply_markup?.inline_keyboard ?? []).flat().map((button) => button.text);

/** A message the farm sent on its own: a test reading "the screen" looks past it. */
export { isNotification };

/** The newest screen of the chat (notifications skipped, unless asked for). */
export function lastMessage(
  api: TestBotApi,
  chatId: number,
  options: { notifications?: boolean } = {},
) {
  const last = api
    .messages(chatId)
    .filter((message) => options.notifications || !isNotification(message))
    .at(-1);
  if (!last) throw new Error(`no bot message in chat ${chatId}`);
  return last;
}

/** The newest notification of the chat. */
export function lastNotification(api: TestBotApi, chatId: number) {
  const last = api.messages(chatId).filter(isNotification).at(-1);
  if (!last) throw new Error(`no notification in chat ${chatId}`);
  return last;
}

export function buttons(api: TestBotApi, chatId: number) {
  return (lastMessage(api, chatId).reply_markup?.inline_keyboard ?? []).flat();
}

/**
 * Presses the button whose label matches on the newest message that has one (the newest
 * notification, or else the screen), and checks the webhook took it.
 */
export async function press(api: TestBotApi, user: UserLike, label: RegExp) {
  const candidates = [
    lastMessage(api, user.id, { notifications: true }),
    lastMessage(api, user.id),
  ];
  const message =
    candidates.find((m) =>
      (m.reply_markup?.inline_keyboard ?? []).flat().some((b) => label.test(b.text)),
    ) ?? candidates[1]!;
  const button = (message.reply_markup?.inline_keyboard ?? [])
    .flat()
    .find((b) => label.test(b.text));
  if (!button || !('callback_data' in button)) {
    throw new Error(`no button ${label} in: ${JSON.stringify(labelsOf(message))}`);
  }
  const delivery = await api.pressButton(
    user,
    { chat_id: user.id, message_id: message.message_id },
    button.callback_data,
  );
  if (delivery.status !== undefined) expect(delivery.status).toBe(200);
  return delivery;
}
