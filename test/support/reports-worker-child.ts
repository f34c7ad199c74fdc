/**
 * A bot process's reports worker in a process of its own, for the tests that kill one with
 * SIGKILL. TEST_DIE_AFTER=render: it draws the picture, and dies when given the sending (so the
 * drawing has completed in Temporal), before sending anything. TEST_DIE_AFTER=publish: it sends the picture
 * (the chat's message is replaced) and dies before that activity completes. It prints "ready" on
 * stderr once it polls, and "rendered" or "published" before it dies.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startReportsWorker } from '../../bot/reports-worker';
import { createLogger } from '../../infra/logging';
import { farmflowDataConverter } from '../../store/payload-files';
import { connectRedis } from '../../store/redis';
import { createReportFiles } from '../../store/report-files';
import { installTemporalRuntime } from '../../worker/runtime';

async function main() {
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const logger = createLogger('error');
  installTemporalRuntime(logger);
  const address = env('TEMPORAL_ADDRESS');
  const dieAfter = env('TEST_DIE_AFTER');
  const dataConverter = farmflowDataConverter(env('SHARED_FILES_DIR'));
  await startReportsWorker({
    connection: await NativeConnection.connect({ address }),
    client: new Client({ connection: await Connection.connect({ address }), dataConverter }),
    dataConverter,
    namespace: 'default',
    token: env('TEST_BOT_TOKEN'),
    apiRoot: env('TEST_API_ROOT'),
    redis: await connectRedis(env('REDIS_URL'), logger),
    keyPrefix: env('TEST_KEY_PREFIX'),
    userHashSecret: env('USER_HASH_SECRET'),
    files: createReportFiles(env('SHARED_FILES_DIR')),
    links: { path: () => '/link', verify: () => false },
    publicUrl: 'http://127.0.0.1',
    workRoot: env('TEST_WORK_ROOT'),
    logger,
    taskQueue: env('TEST_REPORTS_QUEUE'),
    wrapActivities: (activities) =>
      dieAfter === 'render'
        ? {
            ...activities,
            async renderReport(input) {
              const rendered = await activities.renderReport(input);
              process.stderr.write('rendered\n');
              return rendered;
            },
            // Given the sending, so the drawing has completed in Temporal: dies, sending nothing.
            publishReport: () => {
              process.kill(process.pid, 'SIGKILL');
              return new Promise(() => undefined);
            },
          }
        : {
            ...activities,
            async publishReport(input) {
              await activities.publishReport(input);
              process.stderr.write('published\n');
              process.kill(process.pid, 'SIGKILL'); // before the completion is sent
              return new Promise(() => undefined);
            },
          },
  });
  process.stderr.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
