/**
 * The price rule end to end: update JSON → webhook → per-message workflows on the real dev server
 * → the farm → replies at the test Bot API server, while the test moves the world's market the way
 * the market tick does. A player sells at the price their screen showed when that screen is at
 * most one tick old, and is shown the new price otherwise; never paid a price they did not see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActiveEvent,
  type MarketState,
  NEUTRAL_WORLD,
  neutralMarket,
  nextMarket,
  sellPrice,
} from '../../game';
import { parseButton } from '../../bot/callback-data';
import { STALE_BUTTON_TEXT } from '../../bot/render';
import { userHash } from '../../infra/identity';
import { keyspace } from '../../store/redis';
import { farmWorkflowId, getFarmQuery } from '../../workflows/contract';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { sleepMs, TEST_SECRET } from '../support/game';
import { buttons, isNotification, lastMessage, press } from '../support/telegram';

/**
 * The one place this file writes world state, as the market tick and the event workflows leave it
 * in Redis: the market as JSON with its tick, each running event under `event:<id>` with the run
 * that added it, and the mark that this Redis's world needs no rebuild from Temporal. When
 * store/world.ts offers its writes (publishMarket, addEvent), call them here instead.
 */
async function setWorld(b: TestBot, world: { market: MarketState; events?: ActiveEvent[] }) {
  const worldKey = keyspace(b.keyPrefix)('world');
  const fields: Record<string, string> = {
    market: JSON.stringify(world.market),
    marketTick: String(world.market.tick),
    restoredAtMs: String(Date.now()),
  };
  for (const event of world.events ?? []) {
    fields[`event:${event.id}`] = JSON.stringify({ event, runId: `test-run-${event.id}` });
  }
  await b.redis.multi().del(worldKey).hSet(worldKey, fields).exec();
}

const wheatPrice = (market: MarketState, events: ActiveEvent[] = []) =>
  sellPrice('wheat', { ...NEUTRAL_WORLD, market, events });

/**
 * The market's real walk from its first tick, long enough to find the moves these tests need
 * (wheat sells for 4 at factor 1, so a tick changes its price only now and then).
 */
const WALK: MarketState[] = [neutralMarket()];
for (let i = 0; i < 2000; i++) WALK.push(nextMarket(WALK.at(-1)));

/** The first tick from `from` on where wheat's price has just moved, and the two ticks after. */
function findTicks(from: number, moved: (prices: [number, number, number]) => boolean) {
  for (let i = from; i + 2 < WALK.length; i++) {
    const prices = [0, 1, 2].map((k) => wheatPrice(WALK[i + k]!)) as [number, number, number];
    const markets = [WALK[i]!, WALK[i + 1]!, WALK[i + 2]!] as const;
    if (moved(prices)) return { markets, prices };
  }
  throw new Error('the walk never moves wheat that way');
}

describe('selling at the price on the screen, through the webhook', () => {
  let b: TestBot;
  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook' });
  });
  afterAll(() => b.close());

  const farmOf = async (user: { id: number }) =>
    (
      await b.t.client.workflow
        .getHandle(farmWorkflowId(userHash(user.id, TEST_SECRET)))
        .query(getFarmQuery)
    ).farm;

  /** Plants wheat on plot 1 and harvests it: 3 wheat in the barn, a sell button on screen. */
  async function harvestWheat(user: { id: number }) {
    await press(b.api, user, /Plant on 1/);
    await press(b.api, user, /Wheat/);
    await sleepMs(200); // wheat: 2 min × 0.001
    await press(b.api, user, /Refresh/);
    await press(b.api, user, /Harvest/);
    expect(lastMessage(b.api, user.id).text).toMatch(/Harvested 3 wheat/);
  }

  const sellButton = (user: { id: number }) =>
    buttons(b.api, user.id).find((button) => /Sell/.test(button.text));

  it('pays the price a screen one tick old showed', async () => {
    const user = newTelegramUser();
    // The screen shows wheat at `shown`; the market moves to `now` before the press.
    const { markets, prices } = findTicks(1, ([a, b]) => a !== b);
    const [shown, now] = prices;
    await setWorld(b, { market: markets[0] });
    await b.api.sendText(user, '/start');
    await harvestWheat(user);
    expect(lastMessage(b.api, user.id).text).toContain(`🌾 ${shown} `);
    expect(sellButton(user)?.text).toBe(`💰 Sell 3 wheat (${3 * shown} 🪙)`);
    const coinsBefore = (await farmOf(user)).coins;

    await setWorld(b, { market: markets[1] });
    await press(b.api, user, /Sell 3 wheat/);
    const sold = lastMessage(b.api, user.id).text;
    expect(sold.split('\n')[0]).toBe(`💰 Sold 3 wheat for ${3 * shown} 🪙.`);
    // The fresh screen shows the market as it is now, with its move.
    expect(sold).toContain(`🌾 ${now} ${now > shown ? '↑' : '↓'}`);
    expect((await farmOf(user)).coins).toBe(coinsBefore + 3 * shown);
    // The farm message was edited in place all along.
    expect(b.api.messages(user.id).filter((m) => !isNotification(m))).toHaveLength(1);
  });

  it('refuses the price of a screen two ticks old, shows the new one, and then sells at it', async () => {
    const user = newTelegramUser();
    // The screen's price is neither today's nor the previous tick's.
    const { markets, prices } = findTicks(100, ([a, b, c]) => a !== b && a !== c);
    const [stale, , fresh] = prices;
    await setWorld(b, { market: markets[0] });
    await b.api.sendText(user, '/start');
    await harvestWheat(user);
    expect(sellButton(user)?.text).toBe(`💰 Sell 3 wheat (${3 * stale} 🪙)`);
    const before = await farmOf(user);

    await setWorld(b, { market: markets[1] });
    await setWorld(b, { market: markets[2] });
    await press(b.api, user, /Sell 3 wheat/);
    expect(lastMessage(b.api, user.id).text.split('\n')[0]).toBe(
      `⚠️ Price changed: now ${fresh} 🪙 each.`,
    );
    // Nothing was sold, and the fresh button offers the new price.
    expect(await farmOf(user)).toMatchObject({ coins: before.coins, inventory: { wheat: 3 } });
    expect(sellButton(user)?.text).toBe(`💰 Sell 3 wheat (${3 * fresh} 🪙)`);

    await press(b.api, user, /Sell 3 wheat/);
    expect(lastMessage(b.api, user.id).text.split('\n')[0]).toBe(
      `💰 Sold 3 wheat for ${3 * fresh} 🪙.`,
    );
    expect(await farmOf(user)).toMatchObject({ coins: before.coins + 3 * fresh, inventory: {} });
  });

  it('shows a running event on the farm and pays its price', async () => {
    const user = newTelegramUser();
    const market = WALK[10]!;
    const fair: ActiveEvent = {
      id: 'harvest-fair',
      name: 'Friday <harvest> fair',
      effect: { saleMultiplier: 2 },
      startedAtMs: Date.now(),
      endsAtMs: Date.now() + 60 * 60_000,
    };
    await setWorld(b, { market, events: [fair] });
    await b.api.sendText(user, '/start');
    await harvestWheat(user);
    const price = wheatPrice(market, [fair]);
    expect(price).toBe(2 * wheatPrice(market));
    const screen = lastMessage(b.api, user.id);
    expect(screen.text).toMatch(
      /^🎪 Friday <harvest> fair: sale prices ×2 · (59m( \d+s)?|1h) left$/m,
    );
    expect(screen.source).toContain('🎪 <b>Friday &lt;harvest&gt; fair</b>');
    expect(sellButton(user)?.text).toBe(`💰 Sell 3 wheat (${3 * price} 🪙)`);

    await press(b.api, user, /Sell 3 wheat/);
    expect(lastMessage(b.api, user.id).text.split('\n')[0]).toBe(
      `💰 Sold 3 wheat for ${3 * price} 🪙.`,
    );
  });

  /** A press with callback data no button of the message carries: forged, or from an old message. */
  async function pressData(user: { id: number; first_name: string }, data: string) {
    const id = `cq-${data}-${user.id}`;
    const delivery = await b.api.deliver({
      callback_query: {
        id,
        chat_instance: 'ci',
        from: { ...user, is_bot: false },
        message: lastMessage(b.api, user.id).message,
        data,
      },
    });
    expect(delivery.status).toBe(200);
    return b.api.calls.find(
      (c) => c.method === 'answerCallbackQuery' && c.params.callback_query_id === id,
    );
  }

  it('refuses a forged price, higher or lower than the farm’s, and sells nothing', async () => {
    const user = newTelegramUser();
    const market = WALK[1]!;
    const price = wheatPrice(market);
    await setWorld(b, { market });
    await b.api.sendText(user, '/start');
    await harvestWheat(user);
    const before = await farmOf(user);

    for (const forged of [price + 1, 1_000_000, Math.max(1, price - 1)]) {
      if (forged === price) continue;
      await pressData(user, `1:s:wheat:3:${forged}`);
      expect(lastMessage(b.api, user.id).text.split('\n')[0]).toBe(
        `⚠️ Price changed: now ${price} 🪙 each.`,
      );
    }
    expect(await farmOf(user)).toMatchObject({ coins: before.coins, inventory: { wheat: 3 } });
  });

  it('answers an old sell button without a price as stale, and sells nothing', async () => {
    const user = newTelegramUser();
    await setWorld(b, { market: WALK[1]! });
    await b.api.sendText(user, '/start');
    await harvestWheat(user);

    // A press on a message from before sell buttons carried a price.
    const answer = await pressData(user, '1:s:wheat:3');
    expect(answer?.params.text).toBe(STALE_BUTTON_TEXT);
    // The farm, shown afresh: nothing sold, and the sell button carries today's price.
    expect(await farmOf(user)).toMatchObject({ inventory: { wheat: 3 } });
    expect(lastMessage(b.api, user.id).text).not.toMatch(/Sold/);
    expect(parseButton((sellButton(user) as { callback_data: string }).callback_data)).toEqual({
      kind: 'sell',
      cropId: 'wheat',
      quantity: 3,
      unitPrice: wheatPrice(WALK[1]!),
    });
  });
});
