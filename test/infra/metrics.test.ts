/**
 * The metrics an on-call engineer reads, moved by real play: a player starts, presses buttons and
 * gets a notification through the bot process on the real dev server (Telegram is the one thing
 * mocked: the local Bot API server stands in for it), and the bot's /metrics (on the admin
 * listener) shows the counters and the reply latency histogram move. Then every metric the Grafana
 * dashboard and the alert rules use must be exported: by this process, or (for the Temporal SDK's
 * metrics that only appear when something fails) compiled into the SDK's core this project ships.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { newTelegramUser, startTestBot, type TestBot } from '../support/bot';
import { lastNotification, press } from '../support/telegram';

const ADMIN_TOKEN = 'metrics-test-admin-token-of-32-characters';
const REPO = join(__dirname, '../..');

/** Prometheus's text format: `name{labels} value` per sample, keyed by name and labels as written. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The names of the metrics a scrape exports (its `# TYPE` lines). */
const exported = (text: string) =>
  new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!));

describe('metrics', () => {
  let b: TestBot;
  let scrape: () => Promise<string>;
  beforeAll(async () => {
    b = await startTestBot({ mode: 'webhook', adminToken: ADMIN_TOKEN });
    scrape = async () => {
      const res = await fetch(`${b.service.adminUrl}/metrics`, {
        signal: AbortSignal.timeout(5_000),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.text();
    };
  });
  afterAll(() => b.close());

  it('count updates, answers, replies, Bot API calls, workflows and notifications as a player plays', async () => {
    const before = samples(await scrape());
    const moved = (after: Map<string, number>, key: string) =>
      (after.get(key) ?? 0) - (before.get(key) ?? 0);

    const user = newTelegramUser();
    expect((await b.api.sendText(user, '/start')).status).toBe(200);
    await press(b.api, user, /Plant on 1/);
    await press(b.api, user, /Wheat/);
    const ready = await b.api.waitForCall(
      (call) =>
        call.method === 'sendMessage' &&
        Number(call.params.chat_id) === user.id &&
        call.params.text === '🌾 Your wheat is ready!',
      20_000,
    );
    expect(ready.response.ok).toBe(true);
    expect(lastNotification(b.api, user.id).text).toBe('🌾 Your wheat is ready!');
    // A player who blocked the bot: Telegram answers 403, and the call is counted so.
    await b.api.blockChat(user.id);
    await expect(b.service.bot!.api.sendMessage(user.id, 'still there?')).rejects.toThrow(/403/);

    // The notification's activity counts as it ends, after Telegram took the message.
    await expect
      .poll(
        async () =>
          moved(samples(await scrape()), 'farmflow_notifications_total{outcome="sent",reason=""}'),
        {
          timeout: 10_000,
        },
      )
      .toBeGreaterThanOrEqual(1);
    const after = samples(await scrape());
    const of = (key: string) => moved(after, key);

    expect(of('farmflow_updates_received_total{kind="command"}')).toBeGreaterThanOrEqual(1);
    expect(of('farmflow_updates_received_total{kind="button"}')).toBeGreaterThanOrEqual(2);
    expect(of('farmflow_updates_received_total{kind="membership"}')).toBeGreaterThanOrEqual(1);
    expect(of('farmflow_webhook_answers_total{status="200"}')).toBeGreaterThanOrEqual(4);

    // The histogram: one observation per reply, and their time.
    expect(of('farmflow_reply_latency_seconds_count{kind="command"}')).toBeGreaterThanOrEqual(1);
    expect(of('farmflow_reply_latency_seconds_count{kind="button"}')).toBeGreaterThanOrEqual(2);
    expect(of('farmflow_reply_latency_seconds_sum{kind="button"}')).toBeGreaterThan(0);
    expect(
      of('farmflow_reply_latency_seconds_bucket{le="+Inf",kind="button"}'),
    ).toBeGreaterThanOrEqual(2);

    expect(
      of('farmflow_bot_api_calls_total{method="sendMessage",status="ok",sender="replies"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      of('farmflow_bot_api_calls_total{method="editMessageText",status="ok",sender="replies"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(
      of('farmflow_bot_api_calls_total{method="sendMessage",status="ok",sender="notifications"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      of('farmflow_bot_api_calls_total{method="sendMessage",status="403",sender="replies"}'),
    ).toBe(1);

    // Planting is a message; /start and the plot's menu are reads.
    expect(
      of('farmflow_workflows_started_total{type="MainMenuMessageWorkflow",outcome="started"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      of('farmflow_workflows_started_total{type="MainMenuQueryWorkflow",outcome="started"}'),
    ).toBeGreaterThanOrEqual(2);

    // The Temporal SDK's own metrics, under its own names, through the same endpoint.
    const text = await scrape();
    expect(text).toMatch(/^temporal_request\{.*operation="StartWorkflowExecution".*\} [1-9]/m);
    expect(text).toMatch(
      /^temporal_workflow_completed\{.*workflow_type="MainMenuMessageWorkflow".*\} [1-9]/m,
    );
    expect(text).toMatch(/^temporal_workflow_task_schedule_to_start_latency_bucket\{/m);
  });

  it('export every metric the dashboard and the alert rules use', async () => {
    const dashboard = JSON.parse(
      readFileSync(join(REPO, 'deploy/grafana/farmflow-dashboard.json'), 'utf8'),
    ) as { panels: { targets?: { expr: string }[] }[] };
    const rules = parseYaml(readFileSync(join(REPO, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: { rules: { expr: string }[] }[];
    };
    const expressions = [
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr)),
      ...rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
    ];
    expect(expressions.length).toBeGreaterThan(20);
    const used = new Set(
      expressions.flatMap((expr) =>
        [...expr.matchAll(/\b((?:farmflow|temporal|process|nodejs)_[a-z0-9_]+)/g)].map((match) =>
          match[1]!.replace(/_(bucket|sum|count)$/, ''),
        ),
      ),
    );
    expect(used.size).toBeGreaterThan(15);

    const names = exported(await scrape());
    // The SDK's core defines its metric names without the prefix it is given.
    const core = readFileSync(
      require.resolve(
        `@temporalio/core-bridge/releases/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-unknown-linux-gnu/index.node`,
      ),
    ).toString('latin1');
    const missing = [...used].filter(
      (name) =>
        !names.has(name) &&
        !(name.startsWith('temporal_') && core.includes(name.slice('temporal_'.length))),
    );
    expect(missing).toEqual([]);
    // Every farmflow_ metric is exported whether or not anything happened yet.
    expect([...used].filter((name) => name.startsWith('farmflow_') && !names.has(name))).toEqual(
      [],
    );
  });
});
