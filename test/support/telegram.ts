/** Reading the chat as a player sees it on the test Bot API server, and pressing its buttons. */
import { expect } from 'vitest';
import type { TestBotApi, UserLike } from '../../dev/bot-api';

export function lastMessage(api: TestBotApi, chatId: number) {
  const messages = api.messages(chatId);
  const last = messages.at(-1);
  if (!last) throw new Error(`no bot message in chat ${chatId}`);
  return last;
}

export function buttons(api: TestBotApi, chatId: number) {
  return (lastMessage(api, chatId).reply_markup?.inline_keyboard ?? []).flat();
}

/** Presses the button of the last bot message whose label matches, and checks the webhook took it. */
export async function press(api: TestBotApi, user: UserLike, label: RegExp) {
  const message = lastMessage(api, user.id);
  const button = buttons(api, user.id).find((b) => label.test(b.text));
  if (!button || !('callback_data' in button)) {
    throw new Error(
      `no button ${label} in: ${JSON.stringify(buttons(api, user.id).map((b) => b.text))}`,
    );
  }
  const delivery = await api.pressButton(
    user,
    { chat_id: user.id, message_id: message.message_id },
    button.callback_data,
  );
  if (delivery.status !== undefined) expect(delivery.status).toBe(200);
  return delivery;
}
