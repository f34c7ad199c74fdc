/**
 * Button payloads: compact, versioned, validated. Telegram allows 64 bytes of callback data and
 * sends back whatever a button carried, so every press is parsed as untrusted input; a payload
 * from an older version or a tampered one parses to null and gets a polite answer.
 *
 * A sell button carries the unit price its screen showed (`1:s:<crop>:<quantity>:<price>`): the
 * farm pays that price only if it is still today's or the previous market tick's. A sell button
 * from before prices were carried (`1:s:<crop>:<quantity>`) is stale, so that no sale ever pays a
 * price the player did not see.
 */
import { type CropId, isCropId, MAX_PLOTS, MAX_SELL_QUANTITY } from '../game';

const VERSION = '1';

export type ButtonPress =
  | { kind: 'farm' }
  | { kind: 'help' }
  | { kind: 'leaderboard' }
  /** 📊 Report: a picture of the farm, made in the background. */
  | { kind: 'report' }
  | { kind: 'choosePlot'; plotId: number }
  | { kind: 'plant'; plotId: number; cropId: CropId }
  | { kind: 'harvest'; plotId: number }
  | { kind: 'sell'; cropId: CropId; quantity: number; unitPrice: number }
  | { kind: 'buyPlot' }
  | { kind: 'dailyBonus' }
  /** Notifications (crops ready, events, rewards) on or off. */
  | { kind: 'notifications'; on: boolean }
  /** The player's first name on the leaderboard, or "Farmer #n". */
  | { kind: 'showName'; on: boolean };

const CODES = {
  farm: 'f',
  help: 'q',
  leaderboard: 'l',
  report: 'r',
  choosePlot: 'c',
  plant: 'p',
  harvest: 'h',
  sell: 's',
  buyPlot: 'b',
  dailyBonus: 'd',
  notifications: 'n',
  showName: 'v',
} as const satisfies Record<ButtonPress['kind'], string>;

export function encodeButton(press: ButtonPress): string {
  const parts: (string | number)[] = [VERSION, CODES[press.kind]];
  if ('plotId' in press) parts.push(press.plotId);
  if ('cropId' in press) parts.push(press.cropId);
  if ('quantity' in press) parts.push(press.quantity);
  if ('unitPrice' in press) parts.push(press.unitPrice);
  if ('on' in press) parts.push(press.on ? 1 : 0);
  return parts.join(':');
}

const plotId = (raw: string | undefined) => {
  if (raw === undefined || !/^\d{1,2}$/.test(raw)) return null;
  const id = Number(raw);
  return id < MAX_PLOTS ? id : null;
};

/** `unknown`: the payload comes from an update's JSON, which nothing checks before this. */
export function parseButton(data: unknown): ButtonPress | null {
  if (typeof data !== 'string' || data.length === 0 || data.length > 64) return null;
  const [version, code, a, b, c, ...rest] = data.split(':');
  if (version !== VERSION || rest.length > 0) return null;
  switch (code) {
    case CODES.farm:
    case CODES.help:
    case CODES.leaderboard:
    case CODES.report:
    case CODES.buyPlot:
    case CODES.dailyBonus: {
      if (a !== undefined) return null;
      const kind = (Object.keys(CODES) as ButtonPress['kind'][]).find((k) => CODES[k] === code)!;
      return { kind } as ButtonPress;
    }
    case CODES.choosePlot:
    case CODES.harvest: {
      const id = plotId(a);
      if (id === null || b !== undefined) return null;
      return code === CODES.harvest
        ? { kind: 'harvest', plotId: id }
        : { kind: 'choosePlot', plotId: id };
    }
    case CODES.plant: {
      const id = plotId(a);
      if (c !== undefined) return null;
      return id !== null && isCropId(b) ? { kind: 'plant', plotId: id, cropId: b } : null;
    }
    case CODES.sell: {
      if (!isCropId(a) || b === undefined || !/^\d{1,5}$/.test(b)) return null;
      const quantity = Number(b);
      // No price (a button from before prices were carried) or a malformed one: stale.
      const unitPrice = c !== undefined && /^[1-9]\d{0,14}$/.test(c) ? Number(c) : null;
      return quantity >= 1 && quantity <= MAX_SELL_QUANTITY && unitPrice !== null
        ? { kind: 'sell', cropId: a, quantity, unitPrice }
        : null;
    }
    case CODES.notifications:
    case CODES.showName: {
      if ((a !== '0' && a !== '1') || b !== undefined) return null;
      return { kind: code === CODES.notifications ? 'notifications' : 'showName', on: a === '1' };
    }
    default:
      return null;
  }
}
