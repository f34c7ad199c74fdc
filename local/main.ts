/**
 * `npm start`: the whole game on one machine. Starts a Temporal dev server on a SQLite file in the
 * data folder (unless TEMPORAL_ADDRESS points at one), then the worker and the bot's HTTP server
 * in this process.
 */
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { buildApp } from '../bot/app';
import { loadConfig } from '../config';
import { createShutdown } from '../lifecycle';
import { createLogger, installTemporalRuntime } from '../logging';
import { connectRedis, redactUrl } from '../store/redis';
import { ensureTemporalCli } from '../temporal-dev/cli';
import { startDevServer } from '../temporal-dev/server';
import { createGameWorker } from '../worker';
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

    const nativeConnection = await NativeConnection.connect({ address });
    shutdown.add('worker connection', () => nativeConnection.close());
    const connection = await Connection.connect({ address });
    shutdown.add('client connection', () => connection.close());

    const worker = await createGameWorker({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      workflowBundle: await bundleWorkflows(logger),
      activities: createActivities({ redis, keyPrefix: config.redis.keyPrefix, logger }),
    });
    const workerDone = worker.run();
    shutdown.add('worker', async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone;
    });
    workerDone.catch((err: unknown) => {
      logger.fatal({ err }, 'worker failed');
      void shutdown.run(1);
    });

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
