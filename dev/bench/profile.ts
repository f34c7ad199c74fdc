/**
 * Where the main thread's time goes: a V8 CPU profile of a measured window (node:inspector, the
 * same profiler `node --cpu-prof` uses), saved for Chrome DevTools and summed up by component.
 * The bot process's main thread runs fastify, grammY, the Temporal client, the activities and the
 * direct players; workflow code and the SDK core run on threads of their own and are not in it,
 * and the simulated Telegram runs in a process of its own.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, sep } from 'node:path';
import type { Profiler } from 'node:inspector';

const ROOT = join(__dirname, '..', '..').split(sep).join('/');
const inProject = (folders: string) => new RegExp(`^(file://)?${escape(ROOT)}/(${folders})/`);
const inPackages = (names: string) => new RegExp(`/node_modules/(${names})/`);
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Components by where their code lives; the first match wins. */
const COMPONENTS: [string, RegExp][] = [
  ['bench players', inProject('bench')],
  ['farmflow code (bot, client, activities)', inProject('[a-z-]+')],
  ['grammY', inPackages('grammy|@grammyjs')],
  ['node-fetch (grammY → Bot API)', inPackages('node-fetch|whatwg-url|tr46|abort-controller')],
  [
    'fastify and pino (webhook)',
    inPackages(
      'fastify|@fastify|find-my-way|avvio|light-my-request|fast-json-stringify|ajv|secure-json-parse|fast-uri|pino|pino-std-serializers|sonic-boom',
    ),
  ],
  ['Redis client', inPackages('@redis|redis|rate-limiter-flexible|cluster-key-slot')],
  ['Temporal SDK (client, worker)', inPackages('@temporalio|protobufjs|@protobufjs|long')],
  ['other packages', /\/node_modules\//],
  [
    'Node http/net/streams/timers',
    /^node:(internal\/(http|net|stream|streams|dns|url|timers|async_hooks|process|perf|event_target|abort_controller)|_http|http|net|stream|events|buffer|string_decoder|zlib)/,
  ],
];

export interface ProfileSummary {
  /** Sampled time by component, ms, largest first. */
  components: [string, number][];
}

export class WindowProfiler {
  private readonly session = new Session();
  private started = false;

  constructor(private readonly dir: string) {}

  async start(): Promise<void> {
    if (!this.started) {
      this.session.connect();
      await this.session.post('Profiler.enable');
      this.started = true;
    }
    await this.session.post('Profiler.start');
  }

  /** Stops, writes `<name>.cpuprofile` and sums the profile up. */
  async stop(name: string): Promise<ProfileSummary> {
    const { profile } = await this.session.post('Profiler.stop');
    writeFileSync(join(this.dir, `${name}.cpuprofile`), JSON.stringify(profile));
    return summarize(profile);
  }

  close(): void {
    if (this.started) this.session.disconnect();
  }
}

/**
 * Each sample goes to the component of the innermost frame that belongs to one, so that a
 * built-in (JSON.parse, a Buffer copy) counts for the code that called it.
 */
export function summarize(profile: Profiler.Profile): ProfileSummary {
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const componentOf = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = componentOf.get(id);
    if (known) return known;
    const node = byId.get(id)!;
    const { url, functionName } = node.callFrame;
    let component: string | undefined;
    if (functionName === '(garbage collector)') component = 'garbage collection';
    else if (functionName === '(idle)') component = 'idle';
    else if (functionName === '(program)') component = 'V8/Node internals (program)';
    else if (url) component = COMPONENTS.find(([, pattern]) => pattern.test(url))?.[0];
    if (!component) {
      const up = parent.get(id);
      component = up === undefined ? 'other' : resolve(up);
    }
    componentOf.set(id, component);
    return component;
  };

  const totals = new Map<string, number>();
  const { samples = [], timeDeltas = [] } = profile;
  for (let i = 0; i < samples.length; i++) {
    const component = resolve(samples[i]!);
    totals.set(component, (totals.get(component) ?? 0) + (timeDeltas[i] ?? 0) / 1000);
  }
  const components = [...totals].sort(([, a], [, b]) => b - a);
  return { components };
}
