/**
 * The schedules CLI as a person sees it. Its commands run in-process on real operations against
 * the run's dev server (under a prefix of this file's own), so the text is checked exactly; the
 * process itself (`node schedules/cli.ts`, as `npm run schedules` runs it) is checked for what
 * only a process shows: --help, exit statuses, usage errors, an unreachable Temporal.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { calendarEventSchedule, marketTickSchedule } from '../../schedules/catalog';
import { runSchedulesCli } from '../../schedules/commands';
import type { ScheduleDefinition } from '../../schedules/definition';
import { ScheduleDefinitionError } from '../../schedules/definition';
import { createScheduleOperations } from '../../schedules/engine';
import { CALENDAR_EVENTS } from '../../schedules/events';
import type { ScheduleOperations } from '../../schedules/operations';
import { CROP_IDS, CROPS, nextMarket, sellPrice, type WorldState } from '../../game';
import { createLogger } from '../../infra/logging';
import { connectRedis } from '../../store/redis';
import { createWorldStore } from '../../store/world';
import { REDIS_URL } from '../support/constants';
import { freePort } from '../../dev/temporal/server';
import { runCommand } from '../support/processes';
import { deleteSchedules, eventually, testIdPrefix } from '../support/schedules';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

let t: TestTemporal;
const idPrefix = testIdPrefix();
const idleQueue = `${idPrefix}idle`;

beforeAll(async () => {
  t = await connectTestTemporal();
});

afterAll(async () => {
  await deleteSchedules(t.client, idPrefix);
  await t.close();
});

interface Ran {
  status: number;
  stdout: string;
  stderr: string;
  logged: string;
}

/** One command line, in-process, on the given operations (or a factory that fails). */
async function cli(
  args: string[],
  operations: () => Promise<ScheduleOperations>,
  world: () => Promise<WorldState> = async () => {
    throw new Error('world state was needed');
  },
): Promise<Ran> {
  let [stdout, stderr, logged] = ['', '', ''];
  const logs = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  const status = await runSchedulesCli(args, {
    operations,
    world,
    batches: async () => {
      throw new Error('batches were needed');
    },
    redisBackfill: async () => {
      throw new Error('the Redis backfill was needed');
    },
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    logger: createLogger('warn', logs),
  });
  return { status, stdout, stderr, logged };
}

function catalog(events = CALENDAR_EVENTS): ScheduleDefinition[] {
  const options = { timeScale: 1, taskQueue: idleQueue, idPrefix };
  return [marketTickSchedule(options), ...events.map((e) => calendarEventSchedule(e, options))];
}

const on = (definitions: ScheduleDefinition[]) => async () =>
  createScheduleOperations({ client: t.client, definitions, idPrefix });

const COMMANDS = [
  'plan',
  'apply',
  'list',
  'describe',
  'pause',
  'unpause',
  'trigger',
  'backfill',
  'world',
  'delete',
];

const neverCalled = async (): Promise<ScheduleOperations> => {
  throw new Error('the operations were needed');
};

describe('the commands, in-process on the dev server', () => {
  const fairId = `${idPrefix}event-harvest-fair`;
  const saturday = CALENDAR_EVENTS.map((event) =>
    event.id === 'harvest-fair'
      ? { ...event, starts: { ...event.starts, dayOfWeek: 'SATURDAY' as const } }
      : event,
  );

  it('plan, apply, and the designer’s edit: exactly the fields that differ, then the summary', async () => {
    const first = await cli(['plan'], on(catalog()));
    expect(first.status).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    // One line per schedule, then the summary.
    expect(lines.map((l) => l.split('  ')[0])).toEqual([
      `create ${idPrefix}market-tick`,
      `create ${fairId}`,
      `create ${idPrefix}event-pumpkin-week`,
      'plan: 3 to create, 0 to update, 0 to delete, 0 unchanged',
    ]);
    expect(lines[1]).toContain('; spec.calendars: dayOfWeek=FRIDAY at 17:00:00 (Fridays 17:00); ');
    expect(lines[0]).toContain('; spec.intervals: every 1m; ');

    expect(await cli(['apply'], on(catalog()))).toEqual({
      status: 0,
      stdout: [
        `created ${idPrefix}market-tick`,
        `created ${fairId}`,
        `created ${idPrefix}event-pumpkin-week`,
        'apply: 3 created, 0 updated, 0 deleted, 0 unchanged',
        '',
      ].join('\n'),
      stderr: '',
      logged: '',
    });

    await cli(['pause', fairId, '--note', 'new stalls'], on(catalog()));
    const edited = await cli(['plan'], on(catalog(saturday)));
    expect(edited.stdout).toBe(
      [
        `unchanged ${idPrefix}market-tick`,
        `update ${fairId}  spec.calendars: dayOfWeek=FRIDAY at 17:00:00 (Fridays 17:00) → dayOfWeek=SATURDAY at 17:00:00 (Fridays 17:00); paused: new stalls`,
        `unchanged ${idPrefix}event-pumpkin-week`,
        'plan: 0 to create, 1 to update, 0 to delete, 2 unchanged',
        '',
      ].join('\n'),
    );
    expect((await cli(['apply'], on(catalog(saturday)))).stdout).toBe(
      `updated ${fairId}\napply: 0 created, 1 updated, 0 deleted, 2 unchanged\n`,
    );
    expect((await cli(['plan'], on(catalog(saturday)))).stdout.trimEnd().split('\n').at(-1)).toBe(
      'plan: 0 to create, 0 to update, 0 to delete, 3 unchanged',
    );
    const json = JSON.parse((await cli(['plan', '--json'], on(catalog(saturday)))).stdout) as {
      counts: unknown;
    };
    expect(json.counts).toEqual({ create: 0, update: 0, delete: 0, unchanged: 3 });
  });

  it('list, describe, pause, unpause, trigger, delete', async () => {
    const ops = on(catalog(saturday));
    const list = await cli(['list'], ops);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(`${fairId}  paused: new stalls\n`);
    expect(list.stdout).toMatch(
      new RegExp(
        // Its one-minute interval may have fired already.
        `${idPrefix}market-tick {2}active\\n {2}Moves market prices.*\\n {2}next: \\S+Z, \\S+Z, \\S+Z\\n {2}recent:( none\\n|\\n( {4}\\S+Z {2}${idPrefix}market-tick-\\S+\\n)+)`,
      ),
    );

    const details = await cli(['describe', fairId], ops);
    expect(details.stdout).toContain(
      'spec:         calendar dayOfWeek=SATURDAY at 17:00:00 (Fridays 17:00) (timezone UTC)\n',
    );
    expect(details.stdout).toContain('state:        paused: new stalls\n');
    expect(details.stdout).toContain('catch-up:     2h\n');
    expect(details.stdout).toContain(
      `workflow:     CalendarEventWorkflow on task queue ${idleQueue}\n`,
    );
    expect(details.stdout).toContain('defined:      yes\n');

    expect(await cli(['unpause', fairId, '--note', ' stalls are up '], ops)).toMatchObject({
      status: 0,
      stdout: `unpaused ${fairId}: stalls are up\n`,
    });
    expect((await cli(['describe', fairId], ops)).stdout).toContain('state:        active\n');
    const triggeredAt = new Date();
    expect((await cli(['trigger', `${idPrefix}market-tick`], ops)).stdout).toBe(
      `triggered ${idPrefix}market-tick\n`,
    );
    const recent = await eventually(
      async () => {
        const [started] =
          (await cli(['list'], ops)).stdout.match(
            new RegExp(`(?<= {4})\\S+Z(?= {2}${idPrefix}market-tick-)`, 'g'),
          ) ?? [];
        return started && new Date(started) >= new Date(triggeredAt.getTime() - 1000)
          ? started
          : undefined;
      },
      // The scheduler records the run once it has started it: seconds on a loaded dev server.
      30_000,
      'the triggered run in the list',
    );
    expect(recent).toMatch(/Z$/);
    expect((await cli(['delete', `${idPrefix}event-pumpkin-week`], ops)).stdout).toBe(
      `deleted ${idPrefix}event-pumpkin-week (still defined: the next apply creates it again)\n`,
    );
    expect((await cli(['plan'], ops)).stdout).toContain(`\ncreate ${idPrefix}event-pumpkin-week  `);
  }, 60_000);

  it('errors: one line on stderr, nothing on stdout, status 1 for a failed operation, 2 for a wrong request', async () => {
    const ops = on(catalog(saturday));
    const cases: [string[], number, string][] = [
      [
        ['describe', `${idPrefix}nope`],
        1,
        `schedules: No schedule "${idPrefix}nope" owned by farmflow.\n`,
      ],
      [
        ['delete', 'someone-elses'],
        1,
        'schedules: No schedule "someone-elses" owned by farmflow.\n',
      ],
      [
        ['pause', fairId, '--note', '  '],
        2,
        'schedules: A note is required: say why, for the next person.\n',
      ],
      [
        ['backfill', fairId, '--from', '2026-01-02T00:00:00Z', '--to', '2026-01-01T00:00:00Z'],
        2,
        'schedules: The backfill start must be before its end.\n',
      ],
      [
        ['backfill', fairId, '--from', '2026-01-01', '--to', '2026-03-01'],
        2,
        'schedules: The backfill range spans 59d; at most 31d at once.\n',
      ],
    ];
    for (const [args, status, stderr] of cases)
      expect(await cli(args, ops), args.join(' ')).toEqual({
        status,
        stdout: '',
        stderr,
        logged: '',
      });
  });

  it('invalid definitions stop a command with status 2, listing the problems', async () => {
    const [tick] = catalog();
    const ran = await cli(['plan'], async () =>
      createScheduleOperations({
        client: t.client,
        definitions: [{ ...tick!, spec: { intervals: [{ every: 10 }], timezone: 'UTC' } }],
        idPrefix,
      }),
    );
    expect(ran.status).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toBe(
      `schedules: Invalid schedule definitions:\n  - ${idPrefix}market-tick: an interval is under 1 s\n`,
    );
    expect(new ScheduleDefinitionError(['x']).message).toContain('  - x');
  });

  it('an unexpected failure: its message on stderr, its stack in the log, status 1', async () => {
    const ran = await cli(['list'], async () => {
      throw new Error('the disk is on fire');
    });
    expect(ran).toMatchObject({
      status: 1,
      stdout: '',
      stderr: 'schedules: the disk is on fire\n',
    });
    expect(JSON.parse(ran.logged)).toMatchObject({
      level: 50,
      msg: 'schedules command failed',
      err: {
        message: 'the disk is on fire',
        stack: expect.stringContaining('cli.test.ts') as unknown,
      },
    });
  });

  it("world: the market's prices and the events running, as players' messages read them", async () => {
    const redis = await connectRedis(REDIS_URL, createLogger('warn'));
    try {
      const store = createWorldStore(redis, `${inject('redisKeyPrefix')}${idPrefix}world:`);
      expect((await cli(['world'], neverCalled, () => store.read())).stdout).toBe(
        [
          'market: no tick yet (neutral prices)',
          ...CROP_IDS.map(
            (id) => `  ${CROPS[id].emoji} ${id.padEnd(10)} ${CROPS[id].salePrice} 🪙 (market ×1)`,
          ),
          'events: none running',
          '',
        ].join('\n'),
      );
      const market = nextMarket(nextMarket(null));
      await store.publishMarket(market);
      const endsAtMs = Date.now() + 60_000;
      await store.addEvent({
        runId: 'cli-test-run',
        event: {
          id: 'pumpkin-week',
          name: 'Pumpkin week',
          effect: { saleMultiplier: 1.5, crops: ['pumpkin'] },
          startedAtMs: Date.now(),
          endsAtMs,
        },
      });
      const world = await store.read();
      const shown = await cli(['world'], neverCalled, () => store.read());
      expect(shown.status).toBe(0);
      const lines = shown.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe('market: tick 2');
      expect(lines).toContain(
        `  🎃 pumpkin    ${sellPrice('pumpkin', world)} 🪙 (market ×${market.factors.pumpkin})`,
      );
      expect(lines.at(-1)).toBe(
        `event: Pumpkin week (pumpkin-week): sale prices ×1.5 on pumpkin, until ${new Date(endsAtMs).toISOString()}`,
      );
      const json = await cli(['world', '--json'], neverCalled, () => store.read());
      expect(JSON.parse(json.stdout)).toEqual(world);
    } finally {
      await redis.close();
    }
  });

  it('--help and usage errors never need Temporal', async () => {
    const help = await cli(['--help'], neverCalled);
    expect(help.status).toBe(0);
    for (const command of COMMANDS)
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    for (const command of COMMANDS) {
      const own = await cli([command, '--help'], neverCalled);
      expect(own, command).toMatchObject({ status: 0, stderr: '' });
      expect(own.stdout).toMatch(new RegExp(`^Usage: npm run schedules -- ${command} `, 'm'));
    }
    const usage: [string[], string][] = [
      [[], 'Usage: npm run schedules -- [options] [command]'],
      [['bogus'], "schedules: unknown command 'bogus' (see --help)\n"],
      [['pause', 'x'], "schedules: required option '--note <text>' not specified (see --help)\n"],
      [['describe'], "schedules: missing required argument 'id' (see --help)\n"],
      [
        ['trigger', 'a', 'b'],
        "schedules: too many arguments for 'trigger'. Expected 1 argument but got 2. (see --help)\n",
      ],
      [
        ['backfill', 'x', '--from', '2026-01-01T10:00:00', '--to', '2026-01-02'],
        "schedules: option '--from <time>' argument '2026-01-01T10:00:00' is invalid. not an ISO time with its zone, e.g. 2026-11-20T17:00:00Z or 2026-11-20 (see --help)\n",
      ],
    ];
    for (const [args, stderr] of usage) {
      const ran = await cli(args, neverCalled);
      expect(ran.status, args.join(' ')).toBe(2);
      expect(ran.stdout).toBe('');
      if (args.length === 0) expect(ran.stderr).toContain(stderr);
      else expect(ran.stderr).toBe(stderr);
    }
  });
});

describe('the process', { timeout: 60_000 }, () => {
  const run = (args: string[], env: Record<string, string> = {}, npm = false) =>
    npm
      ? runCommand('npm', ['run', '-s', 'schedules', '--', ...args], env)
      : runCommand(process.execPath, ['--import', 'tsx', 'schedules/cli.ts', ...args], env);

  it('npm run schedules -- --help and a command’s --help: status 0, on stdout', async () => {
    const top = await run(['--help'], {}, true);
    expect(top).toMatchObject({ code: 0, stderr: '' });
    expect(top.stdout).toContain('Usage: npm run schedules -- [options] [command]');
    expect(top.stdout).toContain(
      'Acts on: Temporal at 127.0.0.1:7233, namespace default, game time scale 0.01.',
    );
    const pause = await run(['pause', '--help']);
    expect(pause).toMatchObject({ code: 0, stderr: '' });
    expect(pause.stdout).toMatch(/^Usage: npm run schedules -- pause \[options\] <id>$/m);
    expect(pause.stdout).toContain('--note <text>');
  });

  it('usage errors and invalid configuration: status 2, one line, no stack', async () => {
    const noNote = await run(['pause', 'farmflow-market-tick']);
    expect(noNote).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "schedules: required option '--note <text>' not specified (see --help)\n",
    });
    expect((await run([])).code).toBe(2);
    const badAddress = await run(['plan'], { TEMPORAL_ADDRESS: 'not an address' });
    expect(badAddress.code).toBe(2);
    expect(badAddress.stderr).toContain('TEMPORAL_ADDRESS: must be host:port');
  });

  it('world reads Redis at REDIS_URL under REDIS_KEY_PREFIX; unreachable: status 1, one line', async () => {
    const shown = await run(['world'], {
      REDIS_URL,
      REDIS_KEY_PREFIX: `${inject('redisKeyPrefix')}cli-process-${idPrefix}`,
    });
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^market: no tick yet \(neutral prices\)\n/);
    const unreachable = await run(['world'], {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    });
    expect(unreachable).toMatchObject({ code: 1, stdout: '' });
    expect(unreachable.stderr).toMatch(
      /^schedules: Cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ .*\n$/,
    );
    expect(unreachable.stderr.split('\n')).toHaveLength(2);
  });

  it('Temporal unreachable: status 1 with one clear line, within the connect timeout', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const ran = await run(['list'], { TEMPORAL_ADDRESS: address });
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toMatch(
      new RegExp(
        `^schedules: Temporal is unreachable at ${address} \\(.*\\)\\. Set TEMPORAL_ADDRESS, or run npm start for a local one\\.\\n$`,
      ),
    );
    expect(ran.ms).toBeLessThan(15_000);
  });

  it('against a real Temporal: not found is status 1; plan prints only the plan on stdout', async () => {
    const env = { TEMPORAL_ADDRESS: inject('temporalAddress'), LOG_LEVEL: 'info' };
    const missing = await run(['describe', 'farmflow-no-such-schedule'], env);
    expect(missing).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'schedules: No schedule "farmflow-no-such-schedule" owned by farmflow.\n',
    });
    // Read only: the production catalog on the run's server (another file may have applied it).
    const plan = await run(['plan'], env);
    expect(plan.code).toBe(0);
    const lines = plan.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(
      /^plan: \d+ to create, \d+ to update, \d+ to delete, \d+ unchanged$/,
    );
    for (const line of lines)
      expect(line).toMatch(/^(create|update|delete|unchanged) farmflow-|^ {2}|^plan: /);
  });
});
