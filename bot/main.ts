/** `npm run start:bot`: the production bot process (HTTP server; Telegram updates arrive here). */
import { Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { createShutdown } from '../lifecycle';
import { createLogger } from '../logging';
import { connectRedis } from '../store/redis';
import { buildApp } from './app';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel).child({ process: 'bot' });
  const shutdown = createShutdown(logger);
  const address = config.temporal.address;
  if (!address) {
    logger.fatal(
      'TEMPORAL_ADDRESS is not set: the bot needs a Temporal server (npm start runs one locally)',
    );
    return shutdown.run(2);
  }
  try {
    const redis = await connectRedis(config.redis.url, logger);
    shutdown.add('redis', () => redis.close());
    const connection = await Connection.connect({ address });
    shutdown.add('temporal connection', () => connection.close());
    const app = await buildApp({
      logger,
      readinessChecks: {
        temporal: () => connection.healthService.check({}),
        redis: () => redis.ping(),
      },
    });
    await app.listen({ host: config.http.host, port: config.http.port });
    shutdown.add('http server', () => app.close());
  } catch (err) {
    logger.fatal({ err }, 'bot failed to start');
    await shutdown.run(1);
  }
}

void main();
