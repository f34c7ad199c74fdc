/**
 * `npm start`: the whole game on one machine. Starts a Temporal dev server on a SQLite file in the
 * data folder (unless TEMPORAL_ADDRESS points at one), then the worker and the bot's HTTP server
 * in this process.
 */
import { join, resolve } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { startBotService } from '../bot/service';
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
    const workflowBundle = await bundleWorkflows(logger);

    const gameWorker = await createWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: TASK_QUEUES.game,
      workflowBundle,
      activities: createActivities({
        redis,
        keyPrefix: config.redis.keyPrefix,
        userHashSecret: config.userHashSecret,
      }),
    });
    const gameWorkerDone = gameWorker.run();
    shutdown.add('game worker', async () => {
      if (gameWorker.getState() === 'RUNNING') gameWorker.shutdown();
      await gameWorkerDone;
    });
    gameWorkerDone.catch((err: unknown) => {
      logger.fatal({ err }, 'game worker failed');
      void shutdown.run(1);
    });

    const service = await startBotService({ config, logger, redis, connection, workflowBundle });
    shutdown.add('bot', () => service.stop());

    say(
      [
        '',
        'farmflow is running (Ctrl-C stops everything).',
        `  Game HTTP server:  ${service.url}  (health: /healthz, /readyz)`,
        `  Telegram bot:      ${config.telegram.token ? `${config.telegram.mode} via ${config.telegram.apiRoot}` : 'off (set TELEGRAM_BOT_TOKEN)'}`,
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
