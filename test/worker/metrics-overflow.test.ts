/**
 * The Temporal SDK's metrics buffer, when it overflows, drops the creation of some of its own
 * metrics; from then on every drain of the buffer panics in the SDK's core. In CI that panic,
 * thrown from the drain timer, killed a game worker in the middle of a 2,000-player batch. A game
 * worker (a child process on the test's queue, real dev server and Redis) is given a buffer of
 * 20 updates, which the queries on its farm overflow: it must report the broken metrics once,
 * report the dropped updates at most once a minute, and go on serving its farm.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { encryptChatId } from '../../infra/identity';
import { farmWorkflowId, getFarmQuery, WORKFLOW_TYPES } from '../../workflows/contract';
import { REDIS_URL } from '../support/constants';
import { registeredFarm, TEST_SECRET, TEST_TIME_SCALE } from '../support/game';
import { ROOT } from '../support/processes';
import { eventually } from '../support/schedules';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

const BROKE = "the Temporal SDK's metrics buffer overflowed and broke";
const DROPPED = "Core's metrics buffer is full!";

let t: TestTemporal;
let child: ChildProcess;
let output = '';
let exited: string | undefined;

beforeAll(async () => {
  t = await connectTestTemporal();
  child = spawn(process.execPath, ['--import', 'tsx', 'test/support/game-worker-child.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: t.address,
      TEST_TASK_QUEUE: t.taskQueue,
      REDIS_URL,
      TEST_KEY_PREFIX: `${inject('redisKeyPrefix')}${randomUUID().slice(0, 8)}:`,
      TEST_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
      SHARED_FILES_DIR: t.sharedFilesDir,
      USER_HASH_SECRET: TEST_SECRET,
      TEST_METRICS_BUFFER_SIZE: '20',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  child.on('exit', (code, signal) => (exited = `code ${code}, signal ${signal}`));
  await eventually(
    async () => (output.includes('ready') ? true : undefined),
    30_000,
    'worker ready',
  );
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await t?.close();
});

/** The child's log lines (JSON) whose message starts with `text`. */
const linesStarting = (text: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; droppedUpdates?: number })
    .filter((line) => line.msg.startsWith(text));

it('a game worker whose SDK metrics buffer overflows says so once and goes on serving farms', async () => {
  const userHash = `m${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  const joinedAtMs = Date.now();
  const carried = registeredFarm(joinedAtMs);
  const farm = await t.client.workflow.start(WORKFLOW_TYPES.gameFarm, {
    workflowId: farmWorkflowId(userHash),
    taskQueue: t.taskQueue,
    args: [
      {
        userHash,
        sealedChatId: encryptChatId(4_242, TEST_SECRET),
        timeScale: TEST_TIME_SCALE,
        carried,
      },
    ],
  });
  await eventually(
    async () => {
      if (exited) throw new Error(`the worker exited (${exited}):\n${output.slice(-3000)}`);
      if (linesStarting(BROKE).length > 0) return true;
      // Work for the worker (each query is a workflow task): its metrics outgrow the buffer
      // between two drains, however idle the machine is.
      await Promise.all(Array.from({ length: 8 }, () => farm.query(getFarmQuery)));
      return undefined;
    },
    15_000,
    'the overflow reported',
  );
  // Served after the break: queries are workflow tasks on the child worker.
  for (let i = 0; i < 5; i++) {
    const snapshot = await farm.query(getFarmQuery);
    expect(snapshot.farm.coins).toBe(carried.farm.coins);
  }
  // Past a few drains (every 250 ms): a drain after the break would have killed the process.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(exited).toBeUndefined();
  expect(linesStarting(BROKE)).toHaveLength(1);
  const dropped = linesStarting(DROPPED);
  expect(dropped).toHaveLength(1);
  expect(dropped[0]?.droppedUpdates).toBe(1);
  await farm.terminate('test over');
});
