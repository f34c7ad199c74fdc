/**
 * `npm run support -- <code>`: a player's story from their support code, for a person (or, with
 * `--json`, exactly one JSON document on stdout; logs go to stderr). It reads Temporal and Redis
 * directly with the app's configuration (TEMPORAL_ADDRESS, or `npm start`'s local dev server when
 * unset) and needs no token. Exit status: 0 told, 1 an unknown code or Temporal unreachable,
 * 2 a malformed code or usage.
 */
import { Client, type Connection } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { parseCommandLine } from '../../infra/command-line';
import pino from 'pino';
import { ENTRY_POINTS, loadConfig } from '../../infra/config';
import { createLogger } from '../../infra/logging';
import { connectTool, TemporalUnreachableError } from '../../infra/temporal-tool';
import { farmflowDataConverter } from '../../store/payload-files';
import { connectRedis, type RedisClient } from '../../store/redis';
import {
  createStoryReader,
  DEFAULT_TIMELINE_LIMIT,
  MalformedSupportCodeError,
  MAX_TIMELINE_LIMIT,
  type PlayerStory,
  StoryRequestError,
  UnknownPlayerError,
} from './story';

/** A stray handle must not keep a finished command alive. */
const EXIT_GRACE_MS = 5_000;

interface Options {
  json?: boolean;
  limit: number;
  before?: Date;
}

const limitOption = (text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TIMELINE_LIMIT) {
    throw new InvalidArgumentError(`a whole number from 1 to ${MAX_TIMELINE_LIMIT}`);
  }
  return n;
};

const beforeOption = (text: string) => {
  const at = new Date(text);
  if (Number.isNaN(at.getTime()))
    throw new InvalidArgumentError('a time, e.g. 2026-11-30T08:00:00Z');
  return at;
};

async function main(): Promise<number> {
  const program = new Command()
    .name('npm run support --')
    .description("A player's story from their support code: farm, timeline, workflows, failures.")
    .argument('<code>', "the player's support code (16 characters of a-z and 2-7)")
    .option('--json', 'print exactly one JSON document on stdout')
    .option(
      '--limit <n>',
      `timeline entries, newest first (1-${MAX_TIMELINE_LIMIT})`,
      limitOption,
      DEFAULT_TIMELINE_LIMIT,
    )
    .option('--before <time>', 'only what happened before this time (the next page)', beforeOption);
  const ended = parseCommandLine(program);
  if (ended !== undefined) return ended;
  const code = program.args[0]!;
  const options = program.opts<Options>();

  const config = loadConfig(ENTRY_POINTS.support);
  // stdout is the command's output: every log line goes to stderr.
  const logger = createLogger(config.logLevel, pino.destination({ fd: 2, sync: true })).child({
    process: 'support',
  });
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`;
  let connection: Connection | undefined;
  let redis: RedisClient | undefined;
  try {
    try {
      connection = await connectTool(address);
    } catch (err) {
      if (err instanceof TemporalUnreachableError) return fail(1, err.message);
      throw err;
    }
    try {
      redis = await connectRedis(config.redis.url, logger);
    } catch (err) {
      // The registry only adds to what Temporal tells: the story goes on without it.
      logger.warn({ err }, 'Redis is unreachable: the registry copy is left out');
    }
    const story = await createStoryReader({
      client: new Client({
        connection,
        namespace: config.temporal.namespace,
        dataConverter: farmflowDataConverter(config.sharedFilesDir),
      }),
      namespace: config.temporal.namespace,
      temporalUiUrl: config.support.temporalUiUrl,
      redis: redis ? { redis, keyPrefix: config.redis.keyPrefix } : null,
    }).read(code, { limit: options.limit, ...(options.before ? { before: options.before } : {}) });
    process.stdout.write(options.json ? `${JSON.stringify(story, null, 2)}\n` : renderStory(story));
    return 0;
  } catch (err) {
    if (err instanceof MalformedSupportCodeError)
      return fail(2, `not a support code: ${err.message}`);
    if (err instanceof StoryRequestError) return fail(2, err.message);
    if (err instanceof UnknownPlayerError) return fail(1, err.message);
    const reason = err instanceof Error ? err.message : String(err);
    logger.error({ err }, 'reading the story failed');
    return fail(1, `could not read the story from Temporal at ${address}: ${reason}`);
  } finally {
    await redis?.close().catch(() => undefined);
    await connection?.close();
  }
}

function fail(status: number, line: string): number {
  process.stderr.write(`support: ${line}\n`);
  return status;
}

const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

/** The story for a person: the farm, the registry copy, failures first, then the timeline. */
function renderStory(story: PlayerStory): string {
  const lines: string[] = [`Player ${story.userHash}`, `Temporal UI: ${story.temporalUi}`, ''];
  const { farm } = story;
  if (farm) {
    lines.push(
      `Farm (as of ${when(farm.asOf)}; created ${when(farm.createdAt)})`,
      `  coins ${farm.coins}, XP ${farm.xp}, level ${farm.level}`,
      `  plots: ${farm.plots
        .map((p) => `${p.plot}: ${p.crop ? `${p.crop}${p.ready ? ' (ready)' : ''}` : 'empty'}`)
        .join(', ')}`,
      `  stock: ${
        Object.entries(farm.inventory)
          .map(([crop, n]) => `${n} ${crop}`)
          .join(', ') || 'nothing'
      }`,
      `  notifications ${farm.preferences.notifications ? 'on' : 'off'}, name ${farm.preferences.showName ? 'shown' : 'hidden'}, ${farm.reachable === false ? 'UNREACHABLE (blocked the bot)' : 'reachable'}`,
    );
  } else {
    lines.push(`Farm: none (${story.farmNote ?? 'unknown'})`);
  }
  const { entry } = story.registry;
  lines.push(
    '',
    entry
      ? `Registry (Redis copy): farmer #${entry.farmerNumber ?? '?'}, joined ${when(entry.joinedAt)}, notifications ${entry.notifications ? 'on' : 'off'}, ${entry.reachable ? 'reachable' : 'unreachable'}`
      : `Registry (Redis copy): no entry (${story.registry.note ?? 'missing'})`,
    '',
  );
  if (story.failures.length > 0) {
    lines.push(`!! Failures (${story.failures.length}, newest first)`);
    for (const f of story.failures) {
      lines.push(
        `!!  ${when(f.startTime)}  ${f.type} ${f.id} ${f.status.toLowerCase()}  ${f.link}`,
      );
    }
    lines.push('');
  }
  lines.push(`Timeline (newest ${story.timeline.length}, newest first)`);
  for (const e of story.timeline) {
    lines.push(`${e.failed ? '!!' : '  '}${when(e.time)}  ${e.kind.padEnd(12)} ${e.summary}`);
  }
  if (story.nextBefore) lines.push(`  … older: --before ${story.nextBefore}`);
  lines.push(
    '',
    `Workflows (${story.workflowTotal} in all; the farm's newest runs, then this page's)`,
  );
  for (const w of story.workflows) {
    lines.push(
      `${w.failed ? '!!' : '  '}${w.type.padEnd(24)} ${w.status.toLowerCase().padEnd(16)} ${when(w.startTime)} → ${when(w.closeTime)}  ${w.id}  ${w.runId}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

void main().then(
  (status) => {
    process.exitCode = status;
    setTimeout(() => process.exit(status), EXIT_GRACE_MS).unref();
  },
  (err: unknown) => {
    process.stderr.write(`support: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
