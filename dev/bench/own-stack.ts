/**
 * A stack of a benchmark's own (dev/stack: the Temporal server on PostgreSQL with 4 history shards,
 * the bot and the worker as production runs them), named `<prefix>_<random>`, stopped and dropped
 * (databases, folder, Redis keys) when the benchmark ends or is interrupted, as the chaos play's is.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseStackEnv } from '../../infra/config';
import type { Logger } from '../../infra/logging';
import { connectRedis, deleteKeysWithPrefix, type RedisClient } from '../../store/redis';
import { PREBUILT_BUNDLE_PATH, writePrebuiltBundle } from '../../worker/bundle';
import { parsePostgresUrl } from '../stack/postgres';
import { dropStack, type Stack, startStack } from '../stack/stack';
import { ensureTemporalServer } from '../stack/temporal-server';
import { ensureTemporalCli } from '../temporal/cli';

export interface OwnStack {
  stack: Stack;
  /** A connection to the stack's Redis, closed with the stack. */
  redis: RedisClient;
  /** Runs before the stack stops (the benchmark's own connections and workers), last first. */
  beforeStop: (step: () => Promise<unknown>) => void;
  /** Stops and drops it; also on SIGINT, SIGTERM and SIGHUP (then the process exits 130). */
  close: () => Promise<void>;
}

export async function startOwnStack(options: {
  prefix: string;
  gameTimeScale: number;
  logger: Logger;
  say: (line: string) => void;
  keep?: boolean;
}): Promise<OwnStack> {
  const { say } = options;
  const env = parseStackEnv(process.env);
  const postgres = parsePostgresUrl(env.postgresUrl);
  const cliPath = await ensureTemporalCli({ configuredPath: env.cliPath, say });
  const binaries = await ensureTemporalServer({ say });
  // The worker as production starts it: with the bundle built ahead of time.
  if (!existsSync(PREBUILT_BUNDLE_PATH)) {
    say('Building the prebuilt workflow bundle (npm run build:workflows)…');
    await writePrebuiltBundle(options.logger);
  }
  const redis = await connectRedis(env.redisUrl, options.logger);
  const name = `${options.prefix}_${randomBytes(3).toString('hex')}`;
  const steps: (() => Promise<unknown>)[] = [];
  let stack: Stack | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const step of steps.splice(0).reverse()) await step().catch(() => undefined);
      await stack?.stop();
      if (options.keep) {
        say(`Kept stack ${name}: npm run stack -- --name ${name} starts it; --reset drops it.`);
      } else {
        await deleteKeysWithPrefix(redis, `${name}:`);
        await dropStack({ name, postgres, dataDir: env.dataDir }).catch((err: unknown) =>
          say(`could not drop stack ${name}: ${(err as Error).message}`),
        );
      }
      await redis.close();
    })());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => void close().finally(() => process.exit(130)));
  }
  try {
    say(`Starting stack ${name}…`);
    stack = await startStack({
      name,
      postgres,
      redisUrl: env.redisUrl,
      dataDir: env.dataDir,
      ports: { temporal: 0, http: 0, admin: 0 },
      gameTimeScale: options.gameTimeScale,
      binaries,
      cliPath,
      // The stack knows its processes are ready by their info lines.
      logLevel: 'info',
      say,
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { stack, redis, beforeStop: (step) => steps.push(step), close };
}
