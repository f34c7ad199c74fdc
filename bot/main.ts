/**
 * `npm run start:bot`: the production bot process. Hosts the per-message workflows' worker, the
 * Telegram bot (webhook or long polling) and the HTTP server; farms run in worker processes.
 */
import { NativeConnection } from '@temporalio/worker';
import { ENTRY_POINTS, loadConfig } from '../infra/config';
import { createShutdown } from '../infra/shutdown';
import { installTracing } from '../infra/tracing';
import { createLogger, logSecrets } from '../infra/logging';
import { installTemporalRuntime } from '../worker/runtime';
import { connectGuardedRedis } from '../store/secret-fingerprint';
import { loadWorkflowBundle } from '../worker/bundle';
import { startBotService } from './service';

async function main() {
  const config = loadConfig(ENTRY_POINTS.bot);
  const logger = createLogger(config.logLevel, undefined, logSecrets(config)).child({
    process: 'bot',
  });
  installTemporalRuntime(logger);
  const shutdown = createShutdown(logger);
  // Steps run last-added first: the spans are flushed once everything else stopped.
  shutdown.add('traces', installTracing(logger, 'farmflow-bot', { endpoint: config.otlpEndpoint }));
  // ENTRY_POINTS.bot requires both: loadConfig has exited 2 naming them otherwise.
  const address = config.temporal.address!;
  try {
    const redis = await connectGuardedRedis({ config, role: 'bot', logger, shutdown });
    const connection = await NativeConnection.connect({ address });
    shutdown.add('temporal connection', () => connection.close());
    const service = await startBotService({
      config,
      logger,
      redis,
      connection,
      workflowBundle: await loadWorkflowBundle(logger),
    });
    shutdown.add('bot', () => service.stop());
    logger.info(
      { url: service.url, adminUrl: service.adminUrl, mode: config.telegram.mode },
      'bot process ready',
    );
  } catch (err) {
    logger.fatal({ err }, 'bot failed to start');
    await shutdown.run(1);
  }
}

void main();
