/**
 * Messages a farm sends on its own (crops ready, an event's announcement, a reward), as Telegram
 * shows them: HTML text and two buttons, one to open the farm and one to turn these messages off.
 * Pure: the notifications activity renders with the time it sends at.
 */
import { InlineKeyboard } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import { CROPS, type CropId } from '../game';
import type { NotificationContent } from '../workflows/contract';
import { encodeButton, parseButton } from './callback-data';
import { escapeHtml, formatDuration, type Rendered } from './render';

/** "your wheat is ready on 3 plots", "your carrot is ready": one crop of the wave. */
function cropLine(cropId: CropId, plots: number): string {
  const name = CROPS[cropId].name.toLowerCase();
  return plots > 1 ? `${name} is ready on ${plots} plots` : `${name} is ready`;
}

function cropsReadyText(crops: { cropId: CropId; plots: number }[]): string {
  const known = crops.filter((c) => c.cropId in CROPS && c.plots > 0);
  if (known.length === 1) {
    const [{ cropId, plots }] = known as [{ cropId: CropId; plots: number }];
    return `${CROPS[cropId].emoji} Your ${cropLine(cropId, plots)}!`;
  }
  const lines = known.map(
    ({ cropId, plots }) => `${CROPS[cropId].emoji} ${cropLine(cropId, plots)}`,
  );
  return ['🧺 Your crops are ready!', ...lines].join('\n');
}

export function renderNotification(content: NotificationContent, nowMs: number): Rendered {
  let text: string;
  switch (content.topic) {
    case 'cropsReady':
      text = cropsReadyText(content.crops);
      break;
    case 'announcement': {
      const left = content.endsAtMs - nowMs;
      text = [
        `🎪 <b>${escapeHtml(content.name)}</b>`,
        ...(content.text ? [escapeHtml(content.text)] : []),
        ...(left > 0 ? [`⏳ Ends in ${formatDuration(left)}.`] : []),
      ].join('\n');
      break;
    }
    case 'reward': {
      const gains = [
        ...(content.coins > 0 ? [`+${content.coins} 🪙`] : []),
        ...(content.xp > 0 ? [`+${content.xp} XP`] : []),
      ];
      text = [
        `🎁 ${escapeHtml(content.message)}`,
        ...(gains.length > 0 ? [`${gains.join(', ')} (${escapeHtml(content.reason)})`] : []),
      ].join('\n');
      break;
    }
  }
  const keyboard = new InlineKeyboard()
    .text('🌻 Open farm', encodeButton({ kind: 'farm' }))
    .row()
    .text('🔕 Turn notifications off', encodeButton({ kind: 'notifications', on: false }));
  return { text, keyboard };
}

/**
 * Whether a message in a chat is one of these, told by its keyboard: exactly two buttons, one of
 * them turning notifications off. For readers of a chat (the chaos play, tests): a notification
 * arrives between the screens a player presses, and is no reply.
 */
export function isNotification(message: { reply_markup?: InlineKeyboardMarkup }): boolean {
  const buttons = (message.reply_markup?.inline_keyboard ?? []).flat();
  return (
    buttons.length === 2 &&
    buttons.some((button) => {
      const press = 'callback_data' in button ? parseButton(button.callback_data) : null;
      return press?.kind === 'notifications' && !press.on;
    })
  );
}
