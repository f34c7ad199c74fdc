/**
 * A bot process's reports worker in a process of its own, for the test that kills one between
 * drawing a report and sending it: after its first picture is drawn (and that activity has
 * completed), it dies with SIGKILL, and it never sends one. It prints "ready" on stderr once it
 * polls and "rendered" once it has drawn.
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
    files: createReportFiles(env('SHARED_FILES_DIR'), 3_600_000),
    links: { path: () => '/link', verify: () => false },
    publicUrl: 'http://127.0.0.1',
    workRoot: env('TEST_WORK_ROOT'),
    logger,
    taskQueue: env('TEST_REPORTS_QUEUE'),
    wrapActivities: (activities) => ({
      ...activities,
      async renderReport(input) {
        const rendered = await activities.renderReport(input);
        process.stderr.write('rendered\n');
        // Dies once this activity's completion has reached Temporal, before sending anything.
        setTimeout(() => process.kill(process.pid, 'SIGKILL'), 300);
        return rendered;
      },
      publishReport: () => new Promise(() => undefined),
    }),
  });
  process.stderr.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
