/**
 * `npm start`: the whole game on one machine. Starts a Temporal dev server on a SQLite file in the
 * data folder (unless TEMPORAL_ADDRESS points at one), then the worker and the bot's HTTP server
 * in this process. Without TELEGRAM_BOT_TOKEN the bot talks to a local Bot API server instead of
 * Telegram, and the HTTP server serves a web chat page to play it in a browser.
 *
 * Made for a person at a terminal: the banner, warnings and errors in readable form on stderr,
 * the whole JSON log in `farmflow.log` in the data folder.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createGameActivities } from '../../activities/game';
import { startBotService } from '../../bot/service';
import { TASK_QUEUES } from '../../workflows/contract';
import { ENTRY_POINTS, loadConfig } from '../../infra/config';
import { createShutdown } from '../../infra/shutdown';
import { logSecrets } from '../../infra/logging';
import { installTemporalRuntime } from '../../worker/runtime';
import { installTracing } from '../../infra/tracing';
import { createTerminalLogger } from '../../infra/terminal-log';
import { connectGuardedRedis } from '../../store/secret-fingerprint';
import { redactUrl } from '../../store/redis';
import { ensureTemporalCli } from '../temporal/cli';
import { startDevServer } from '../temporal/server';
import { createWorker, runWorker } from '../../worker/create-worker';
import { farmflowDataConverter } from '../../store/payload-files';
import { bundleWorkflows } from '../../worker/bundle';
import { watchRedisCopy } from '../../worker/redis-copy-watch';
import { webChatExtraRoutes } from '../web-chat/plugin';
import { applySchedules } from './schedules';
import { startLocalTelegram } from './telegram';

async function main() {
  const loaded = loadConfig(ENTRY_POINTS.local);
  // Without ADMIN_TOKEN, a token for this session only: the banner shows it to the person here.
  const generatedAdminToken = loaded.admin.token ? undefined : randomBytes(32).toString('hex');
  const config = generatedAdminToken
    ? { ...loaded, admin: { ...loaded.admin, token: generatedAdminToken } }
    : loaded;
  const dataDir = resolve(config.dataDir);
  const logFile = join(dataDir, 'farmflow.log');
  const logger = createTerminalLogger({
    level: config.logLevel,
    file: logFile,
    secrets: logSecrets(config),
  });
  if (config.userHashSecretIsDevelopment) {
    logger.warn(
      'USER_HASH_SECRET is not set: using the built-in development secret (fine for local play; set it before real players join)',
    );
  }
  installTemporalRuntime(logger);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  // SIGHUP: the terminal closed. The dev server is in a process group of its own, so nothing
  // else would stop it.
  const shutdown = createShutdown(logger, {
    signals: ['SIGINT', 'SIGTERM', 'SIGHUP'],
    announce: say,
  });
  shutdown.add('traces', installTracing(logger, 'farmflow', { endpoint: config.otlpEndpoint }));

  try {
    const redis = await connectGuardedRedis({ config, role: 'local', logger, shutdown });

    let address = config.temporal.address;
    let uiUrl: string | null = null;
    let ownDevServer = false;
    if (!address) {
      const cliPath = await ensureTemporalCli({ configuredPath: config.temporal.cliPath, say });
      const server = await startDevServer({
        cliPath,
        dbFile: join(dataDir, 'temporal.sqlite'),
        logFile: join(dataDir, 'temporal.log'),
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        ownProcessGroup: true,
      });
      shutdown.add('temporal dev server', () => server.stop());
      address = server.address;
      uiUrl = server.uiUrl;
      ownDevServer = true;
    }

    const connection = await NativeConnection.connect({ address });
    shutdown.add('temporal connection', () => connection.close());
    const dataConverter = farmflowDataConverter(config.sharedFilesDir);
    const workflowBundle = await bundleWorkflows(logger);

    const gameWorker = await createWorker({
      connection,
      dataConverter,
      namespace: config.temporal.namespace,
      taskQueue: TASK_QUEUES.game,
      workflowBundle,
      activities: createGameActivities({
        redis,
        keyPrefix: config.redis.keyPrefix,
        userHashSecret: config.userHashSecret,
        client: new Client({ connection, namespace: config.temporal.namespace, dataConverter }),
        gameTaskQueue: TASK_QUEUES.game,
        logger,
      }),
    });
    const { done: gameWorkerDone, stop: stopGameWorker } = runWorker(gameWorker);
    shutdown.add('game worker', stopGameWorker);
    gameWorkerDone.catch((err: unknown) => {
      logger.fatal({ err }, 'game worker failed');
      void shutdown.run(1);
    });
    // As a worker process does: a Redis that lost the players' copy (or never had it) gets it back.
    const watch = watchRedisCopy({
      client: new Client({ connection, namespace: config.temporal.namespace, dataConverter }),
      redis,
      keyPrefix: config.redis.keyPrefix,
      gameTaskQueue: TASK_QUEUES.game,
      logger,
    });
    shutdown.add("Redis copy's watch", watch.stop);

    // With the game worker up, so that a run due at once finds it; before the bot, so that the
    // banner (printed once the game answers) can say how it went.
    // Only to a dev server of its own: a TEMPORAL_ADDRESS may be a shared or production Temporal,
    // whose schedules a deploy applies (npm run schedules -- apply) at its own time scale.
    const schedules = ownDevServer
      ? await applySchedules({
          client: new Client({ connection, namespace: config.temporal.namespace, dataConverter }),
          timeScale: config.gameTimeScale,
          logger,
        })
      : 'not applied (TEMPORAL_ADDRESS is set: apply them with npm run schedules -- apply)';

    // Stopped after the bot (steps run last-added first), so the bot's last replies still land.
    const local = config.telegram.token ? undefined : await startLocalTelegram(config);
    if (local) shutdown.add('local Bot API server', () => local.close());
    const service = await startBotService({
      config: local?.config ?? config,
      logger,
      redis,
      connection,
      workflowBundle,
      extraRoutes: local && webChatExtraRoutes({ players: local.players }),
      adminOptional: generatedAdminToken !== undefined,
    });
    shutdown.add('bot', () => service.stop());

    say(
      [
        '',
        'farmflow is running (Ctrl-C stops everything).',
        ...(local ? ['', `  Play in your browser: ${service.url}/`, ''] : []),
        `  Game HTTP server:  ${service.url}  (health: /healthz, /readyz)`,
        ...adminLines(service.adminUrl, generatedAdminToken),
        `  Telegram bot:      ${local ? `local Bot API server at ${local.api.url} (set TELEGRAM_BOT_TOKEN for Telegram)` : `${config.telegram.mode} via ${config.telegram.apiRoot}`}`,
        `  Temporal:          ${address}${uiUrl ? `  (Web UI: ${uiUrl}, filter: UserHash = "<support code>")` : ''}`,
        `  Redis:             ${redactUrl(config.redis.url)}  (keys under "${config.redis.keyPrefix}")`,
        `  Game time scale:   ${config.gameTimeScale}`,
        `  Schedules:         ${schedules}`,
        `  Log (JSON):        ${logFile}  (warnings and errors show here too)`,
        '',
      ].join('\n'),
    );
  } catch (err) {
    say(`farmflow: ${(err as Error).message}`);
    await shutdown.run(1);
  }
}

/**
 * The admin listener's lines of the banner (admin API, console); a generated token is shown whole
 * (it is this session's).
 */
function adminLines(adminUrl: string | undefined, generatedToken: string | undefined): string[] {
  if (!adminUrl) {
    return ['  Admin API:         off (it could not start: see the warning above)'];
  }
  const console = `  Console:           ${adminUrl}/console  (support and designers: sign in with the admin token or a SUPPORT_TOKENS token)`;
  if (!generatedToken) {
    return [`  Admin API:         ${adminUrl}/admin  (token: ADMIN_TOKEN)`, console];
  }
  return [
    `  Admin API:         ${adminUrl}/admin  (token for this session: ${generatedToken})`,
    `                     curl -H 'Authorization: Bearer ${generatedToken}' ${adminUrl}/admin/schedules`,
    console,
  ];
}

void main();
