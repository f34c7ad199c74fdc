/**
 * `npm start`: the whole game on one machine. Starts a Temporal dev server on a SQLite file in the
 * data folder (unless TEMPORAL_ADDRESS points at one), then the worker and the bot's HTTP server
 * in this process.
 */
import { join, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createActivities, createMainMenuActivities } from '../activities';
import { buildApp } from '../bot/app';
import { TASK_QUEUES } from '../common/temporal';
import { loadConfig } from '../config';
import { createShutdown } from '../lifecycle';
import { createLogger, installTemporalRuntime } from '../logging';
import { connectRedis, redactUrl } from '../store/redis';
import { ensureTemporalCli } from '../temporal-dev/cli';
import { startDevServer } from '../temporal-dev/server';
import { createWorker } from '../worker';
import { bundleWorkflows } from '../worker/bundle';

async function main() {
  const config = loadConfig({ gameTimeScale: 0.01 });
  const logger = createLogger(config.logLevel);
  installTemporalRuntime(logger);
  const shutdown = createShutdown(logger);
  const say = (line: string) => process.stderr.write(`${line}\n`);

  try {
    const redis = await connectRedis(config.redis.url, logger);
    shutdown.add('redis', () => redis.close());

    let address = config.temporal.address;
    let uiUrl: string | null = null;
    if (!address) {
      const cliPath = await ensureTemporalCli({ configuredPath: config.temporal.cliPath, say });
      const dataDir = resolve(config.dataDir);
      const server = await startDevServer({
        cliPath,
        dbFile: join(dataDir, 'temporal.sqlite'),
        logFile: join(dataDir, 'temporal.log'),
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
      });
      shutdown.add('temporal dev server', () => server.stop());
      address = server.address;
      uiUrl = server.uiUrl;
    }

    const connection = await NativeConnection.connect({ address });
    shutdown.add('temporal connection', () => connection.close());
    // Built on the workers' connection, so per-message workflows start eagerly on this process.
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const workflowBundle = await bundleWorkflows(logger);

    const workers = await Promise.all([
      createWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: TASK_QUEUES.game,
        workflowBundle,
        activities: createActivities({
          redis,
          keyPrefix: config.redis.keyPrefix,
          userHashSecret: config.userHashSecret,
        }),
      }),
      createWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: TASK_QUEUES.mainMenu,
        workflowBundle,
        activities: createMainMenuActivities({
          client,
          redis,
          keyPrefix: config.redis.keyPrefix,
          timeScale: config.gameTimeScale,
          farmTaskQueue: TASK_QUEUES.game,
        }),
      }),
    ]);
    for (const worker of workers) {
      const done = worker.run();
      shutdown.add(`worker ${worker.options.taskQueue}`, async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      });
      done.catch((err: unknown) => {
        logger.fatal({ err }, 'worker failed');
        void shutdown.run(1);
      });
    }

    const app = await buildApp({
      logger,
      readinessChecks: {
        temporal: () => connection.healthService.check({}),
        redis: () => redis.ping(),
      },
    });
    await app.listen({ host: config.http.host, port: config.http.port });
    shutdown.add('http server', () => app.close());

    say(
      [
        '',
        'farmflow is running (Ctrl-C stops everything).',
        `  Game HTTP server:  http://${config.http.host}:${config.http.port}  (health: /healthz, /readyz)`,
        `  Temporal:          ${address}${uiUrl ? `  (Web UI: ${uiUrl}, filter: UserHash = "<support code>")` : ''}`,
        `  Redis:             ${redactUrl(config.redis.url)}  (keys under "${config.redis.keyPrefix}")`,
        `  Game time scale:   ${config.gameTimeScale}`,
        '',
      ].join('\n'),
    );
  } catch (err) {
    say(`farmflow: ${(err as Error).message}`);
    await shutdown.run(1);
  }
}

void main();
