/**
 * `npm run bench:throughput -- --runs 5`: `npm run bench:farm` again and again, alternating between
 * a dev server of its own (bench:farm's default) and a stack of this run's own (the Temporal server
 * on PostgreSQL with 4 history shards, dev/stack), back to back on one machine, and the medians
 * of what each run printed: MainMenuMessage's p50 against the floor's and the naive design's at
 * concurrency 1, and its throughput against the floor's at concurrency 32. One bench:farm run is
 * noisy on a machine that its server shares (its c=32 ratio moved from 0.72 to 0.87 between runs of
 * the same code here); the median of several is what the README's figures are.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { parseCommandLine, positiveNumber } from '../../infra/command-line';
import { createLogger } from '../../infra/logging';
import { formatTable } from './measure';
import { startOwnStack } from './own-stack';

const FARM_BENCH = join(__dirname, 'farm.ts');

interface RunFigures {
  /** MainMenuMessage p50 / floor p50 at c=1. */
  c1: number;
  /** MainMenuMessage p50 / naive p50 at c=1. */
  naive: number;
  /** MainMenuMessage throughput / floor's at c=32. */
  c32: number;
  /** Messages a second at c=32: MainMenuMessage's and the floor's. */
  messageRate: number;
  floorRate: number;
}

/** One `bench:farm` in a child process; its figures from the report's last lines. */
function farmBench(env: NodeJS.ProcessEnv): Promise<RunFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FARM_BENCH], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const number = (pattern: RegExp) => Number(pattern.exec(out)?.[1]);
      const vsNaive = /main-menu-message p50 vs naive p50: ([\d.]+) vs ([\d.]+) ms/.exec(out);
      const figures = {
        c1: number(/ratio main-menu-message p50 \/ floor: ([\d.]+)/),
        naive: vsNaive ? Number(vsNaive[1]) / Number(vsNaive[2]) : Number.NaN,
        c32: number(/throughput main-menu-message \/ floor: ([\d.]+)/),
        // The last column of the table's rows: c=32 /s.
        messageRate: number(/^MainMenuMessage .* (\d+)$/m),
        floorRate: number(/^floor: eager empty \+ 1 update .* (\d+)$/m),
      };
      if (code !== 0 || Object.values(figures).some(Number.isNaN)) {
        reject(new Error(`bench:farm exited ${code}; its report:\n${out}`));
      } else resolve(figures);
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(runs: number): Promise<number> {
  const began = performance.now();
  const say = (line: string) =>
    process.stderr.write(`${((performance.now() - began) / 1000).toFixed(1)} s ${line}\n`);
  const logger = createLogger('error');
  const own = await startOwnStack({ prefix: 'throughput', gameTimeScale: 1, logger, say });
  const targets = [
    { name: 'dev server', env: { ...process.env, TEMPORAL_ADDRESS: '' } },
    { name: 'stack', env: { ...process.env, TEMPORAL_ADDRESS: own.stack.temporal.address } },
  ];
  const figures = new Map<string, RunFigures[]>(targets.map((t) => [t.name, []]));
  try {
    for (let run = 1; run <= runs; run++) {
      for (const target of targets) {
        say(`run ${run} of ${runs} on the ${target.name}…`);
        figures.get(target.name)!.push(await farmBench(target.env));
      }
    }
  } finally {
    await own.close();
  }
  const fixed = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ');
  const rows = [['', 'runs', 'median']];
  for (const { name } of targets) {
    const list = figures.get(name)!;
    rows.push(
      [
        `${name}: MainMenuMessage p50 / floor p50, c=1`,
        fixed(list.map((f) => f.c1)),
        median(list.map((f) => f.c1)).toFixed(2),
      ],
      [
        `${name}: MainMenuMessage p50 / naive p50, c=1`,
        fixed(list.map((f) => f.naive)),
        median(list.map((f) => f.naive)).toFixed(2),
      ],
      [
        `${name}: MainMenuMessage / floor throughput, c=32`,
        fixed(list.map((f) => f.c32)),
        median(list.map((f) => f.c32)).toFixed(2),
      ],
      [
        `${name}: MainMenuMessage, floor messages/s, c=32`,
        list.map((f) => `${f.messageRate}/${f.floorRate}`).join(' '),
        `${median(list.map((f) => f.messageRate))}/${median(list.map((f) => f.floorRate))}`,
      ],
    );
  }
  const stack = figures.get('stack')!;
  process.stdout.write(
    [
      '',
      `farmflow bench:throughput — bench:farm ${runs} times on each, alternating, Node ${process.version}`,
      '',
      formatTable(rows),
      '',
      `median c=32 throughput on the stack, MainMenuMessage / floor: ${median(stack.map((f) => f.c32)).toFixed(2)}`,
      '',
    ].join('\n'),
  );
  return 0;
}

const program = new Command()
  .name('npm run bench:throughput --')
  .description('bench:farm on a dev server and on a stack, alternating; the medians.')
  .option('--runs <n>', 'runs on each', positiveNumber(50), 5);
const exit = parseCommandLine(program);
if (exit !== undefined) process.exit(exit);
main(program.opts<{ runs: number }>().runs).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:throughput: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
