/**
 * The Kubernetes chart (deploy/kubernetes/farmflow), offline: `helm lint --strict`, `helm template`
 * and `kubeconform -strict` against the Kubernetes 1.37 API and KEDA's and the Gateway API's CRDs
 * (dev/kubernetes: the tools and schemas come from pinned Go modules), for the defaults and every
 * variant under deploy/kubernetes/ci; then what farmflow needs of what it renders: the contract's
 * task queue in the worker's scaler, probes on the right ports, drain inside the grace period,
 * secrets only from the Secret and the bot's token only in the bot, nothing but the webhook and
 * report links public. And the values for the official Temporal chart carry farmflow's dynamic
 * config, SQL visibility on PostgreSQL and more than one history shard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  ciVariants,
  ensureTools,
  lintChart,
  renderChart,
  type Tools,
  validateManifests,
} from '../../dev/kubernetes/validate';
import { TEMPORAL_SERVER_VERSION } from '../../dev/stack/temporal-server';
import { CONFIG_VARIABLES } from '../../infra/config';
import { STOP_DEADLINE_MS } from '../../infra/shutdown';
import { TASK_QUEUES } from '../../workflows/contract';

const ROOT = join(__dirname, '..', '..');

interface Container {
  name: string;
  command: string[];
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef: { key: string } } }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  lifecycle?: { preStop: { exec: { command: string[] } } };
  resources: { requests: Record<string, string>; limits?: Record<string, string> };
}

/** The fields of each kind the tests below read. */
interface Specs {
  Deployment: {
    replicas?: number;
    template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } };
  };
  ScaledObject: {
    scaleTargetRef: { name: string };
    triggers: { type: string; metadata: Record<string, string> }[];
  };
  HorizontalPodAutoscaler: { metrics: { resource: { name: string } }[] };
  PodDisruptionBudget: { minAvailable?: number; maxUnavailable?: number };
  Ingress: { rules: { http: { paths: { path: string; pathType: string }[] } }[] };
  HTTPRoute: { rules: { matches: unknown[] }[] };
  Job: unknown;
  ConfigMap: unknown;
}

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
}

const resourcesOf = (yaml: string): Resource[] =>
  parseAllDocuments(yaml)
    .map((document) => document.toJSON() as Resource | null)
    .filter((resource): resource is Resource => resource !== null);

function find<K extends keyof Specs>(
  resources: Resource[],
  kind: K,
  name: string,
): Resource & { spec: Specs[K] } {
  const found = resources.find((r) => r.kind === kind && r.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered chart`);
  return found as Resource & { spec: Specs[K] };
}

const containerOf = (deployment: { spec: Specs['Deployment'] }): Container =>
  deployment.spec.template.spec.containers[0]!;
const envOf = (container: Container) =>
  Object.fromEntries(
    container.env.map((e) => [e.name, e.value ?? `secret:${e.valueFrom?.secretKeyRef.key}`]),
  );

let tools: Tools;
let resources: Resource[];

beforeAll(async () => {
  // Minutes on a machine that has none yet, once; CI builds them before the tests.
  tools = await ensureTools((line) => process.stderr.write(`${line}\n`));
  resources = resourcesOf(await renderChart(tools));
}, 900_000);

describe('the Kubernetes chart', () => {
  it.each(ciVariants().map((variant) => [variant.name, variant.valuesFiles] as const))(
    'renders valid manifests with %s (helm lint --strict, kubeconform -strict, every resource has a schema)',
    async (_name, valuesFiles) => {
      await lintChart(tools, valuesFiles);
      const result = await validateManifests(tools, await renderChart(tools, { valuesFiles }));
      expect(result.problems).toEqual([]);
      expect(result).toMatchObject({ invalid: 0, errors: 0, skipped: 0 });
      expect(result.valid).toBeGreaterThanOrEqual(8);
    },
  );

  it('catches a misspelt field, a bad quantity and a wrong type (the check can fail)', async () => {
    for (const set of [
      'podSecurityContext.runAsNonRot=true',
      'bot.resources.requests.cpu=lots',
      'worker.keda.maxReplicas=many',
    ]) {
      const result = await validateManifests(tools, await renderChart(tools, { set: [set] }));
      expect(result.invalid, set).toBeGreaterThan(0);
    }
  });

  it('scales the workers on the backlog of the task queue they poll (KEDA), the bot on CPU', () => {
    const scaler = find(resources, 'ScaledObject', 'farmflow-worker');
    expect(scaler.spec.scaleTargetRef.name).toBe('farmflow-worker');
    const trigger = scaler.spec.triggers[0]!;
    expect(trigger.type).toBe('temporal');
    // The worker process polls TASK_QUEUES.game (worker/main.ts); the scaler must watch the same.
    expect(trigger.metadata).toMatchObject({
      taskQueue: TASK_QUEUES.game,
      queueTypes: 'workflow,activity',
      namespace: 'default',
    });
    expect(Number(trigger.metadata.targetQueueSize)).toBeGreaterThan(0);
    expect(find(resources, 'Deployment', 'farmflow-worker').spec.replicas).toBeUndefined();
    const hpa = find(resources, 'HorizontalPodAutoscaler', 'farmflow-bot');
    expect(hpa.spec.metrics[0]?.resource.name).toBe('cpu');
    expect(find(resources, 'Deployment', 'farmflow-bot').spec.replicas).toBeUndefined();
  });

  it('probes each process on its own listener: the bot on its HTTP port, the worker on WORKER_METRICS_PORT', () => {
    const bot = containerOf(find(resources, 'Deployment', 'farmflow-bot'));
    const worker = containerOf(find(resources, 'Deployment', 'farmflow-worker'));
    expect(bot.command).toEqual(['node', '--import', 'tsx', 'bot/main.ts']);
    expect(worker.command).toEqual(['node', '--import', 'tsx', 'worker/main.ts']);
    for (const [container, port] of [
      [bot, 'http'],
      [worker, 'metrics'],
    ] as const) {
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port });
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port });
    }
    const portOf = (c: Container, name: string) =>
      c.ports.find((p) => p.name === name)!.containerPort;
    expect(String(portOf(bot, 'http'))).toBe(envOf(bot).HTTP_PORT);
    expect(String(portOf(worker, 'metrics'))).toBe(envOf(worker).WORKER_METRICS_PORT);
    expect(envOf(worker).WORKER_METRICS_HOST).toBe('0.0.0.0');
    expect(envOf(bot).TELEGRAM_MODE).toBe('webhook');
    // The sticky cache is sized, and fits the memory limit at ~0.4 MB a farm over ~285 MB.
    const cached = Number(envOf(worker).WORKER_MAX_CACHED_WORKFLOWS);
    expect(cached).toBeGreaterThan(0);
    expect(envOf(worker).NODE_OPTIONS).toMatch(/^--max-old-space-size=\d+$/);
    const limit = worker.resources.limits?.memory ?? '';
    expect(limit).toMatch(/^\d+Mi$/);
    expect(285 + cached * 0.4).toBeLessThan(parseInt(limit, 10));
  });

  it('gives each process time to drain after SIGTERM before the kubelet kills it', () => {
    const stopSeconds = STOP_DEADLINE_MS / 1000;
    const bot = find(resources, 'Deployment', 'farmflow-bot').spec.template.spec;
    const preStop = Number(
      containerOf(find(resources, 'Deployment', 'farmflow-bot')).lifecycle!.preStop.exec.command[1],
    );
    expect(preStop).toBeGreaterThan(0);
    expect(bot.terminationGracePeriodSeconds).toBeGreaterThan(preStop + stopSeconds);
    const worker = find(resources, 'Deployment', 'farmflow-worker').spec.template.spec;
    expect(worker.terminationGracePeriodSeconds).toBeGreaterThan(stopSeconds);
    expect(
      find(resources, 'PodDisruptionBudget', 'farmflow-bot').spec.minAvailable,
    ).toBeGreaterThan(0);
    expect(find(resources, 'PodDisruptionBudget', 'farmflow-worker').spec.maxUnavailable).toBe(1);
  });

  it('passes only variables the processes read, secrets only from the Secret, the token only to the bot', () => {
    const secrets = new Set([
      'TELEGRAM_BOT_TOKEN',
      'TELEGRAM_WEBHOOK_SECRET',
      'USER_HASH_SECRET',
      'REDIS_URL',
      'ADMIN_TOKEN',
      'SUPPORT_TOKENS',
    ]);
    // NODE_OPTIONS is Node's own: the worker's heap limit.
    const known = new Set<string>([...CONFIG_VARIABLES, 'NODE_OPTIONS']);
    for (const name of ['farmflow-bot', 'farmflow-worker']) {
      const container = containerOf(find(resources, 'Deployment', name));
      for (const variable of container.env) {
        expect(
          known.has(variable.name),
          `${name} is given ${variable.name}, which nothing reads`,
        ).toBe(true);
        if (secrets.has(variable.name)) {
          expect(variable.value, `${variable.name} of ${name}`).toBeUndefined();
          expect(variable.valueFrom?.secretKeyRef.key).toBe(variable.name);
        }
      }
      // Resource requests from the benchmarks (README, capacity): every container has them.
      expect(Object.keys(container.resources.requests).sort()).toEqual(['cpu', 'memory']);
    }
    // The worker ignores the Bot API's and the admin listener's variables (ENTRY_POINTS.worker):
    // it is given none, so a leaked worker environment cannot speak as the bot.
    const workerEnv = Object.keys(
      envOf(containerOf(find(resources, 'Deployment', 'farmflow-worker'))),
    );
    expect(workerEnv.filter((name) => /^(TELEGRAM_|ADMIN_|SUPPORT_)/.test(name))).toEqual([]);
    expect(
      envOf(containerOf(find(resources, 'Deployment', 'farmflow-bot'))).TELEGRAM_BOT_TOKEN,
    ).toBe('secret:TELEGRAM_BOT_TOKEN');
    expect(resources.filter((r) => r.kind === 'Secret')).toEqual([]);
  });

  it('makes public only the webhook and the report links', async () => {
    const ingress = find(resources, 'Ingress', 'farmflow');
    const paths = ingress.spec.rules.flatMap((rule) =>
      rule.http.paths.map((p) => `${p.pathType} ${p.path}`),
    );
    expect(paths).toEqual(['Exact /telegram/webhook', 'Prefix /api/reports/']);
    const routed = resourcesOf(
      await renderChart(tools, { set: ['httpRoute.enabled=true', 'ingress.enabled=false'] }),
    );
    expect(routed.filter((r) => r.kind === 'Ingress')).toEqual([]);
    const route = find(routed, 'HTTPRoute', 'farmflow');
    expect(route.spec.rules[0]?.matches).toEqual([
      { path: { type: 'Exact', value: '/telegram/webhook' }, method: 'POST' },
      { path: { type: 'PathPrefix', value: '/api/reports/' }, method: 'GET' },
    ]);
  });

  it('registers UserHash before the processes start, with the script compose and the stack run', () => {
    const job = find(resources, 'Job', 'farmflow-temporal-setup');
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const script = find(resources, 'ConfigMap', 'farmflow-temporal-setup');
    expect(script.data?.['setup-namespace.sh']).toBe(
      readFileSync(join(ROOT, 'deploy/temporal/setup-namespace.sh'), 'utf8'),
    );
  });
});

/** What farmflow depends on in the official chart's values (chart 1.x key paths). */
interface TemporalValues {
  server: {
    image: { tag: string };
    dynamicConfig: Record<string, unknown>;
    config: {
      namespaces: { namespace: { name: string }[] };
      persistence: {
        numHistoryShards: number;
        defaultStore: string;
        visibilityStore: string;
        datastores: Record<
          string,
          {
            sql: {
              pluginName: string;
              databaseName: string;
              connectAddr: string;
              password?: string;
              existingSecret?: string;
            };
          }
        >;
      };
    };
  };
}

describe('values for the official Temporal chart', () => {
  const values = parseYaml(
    readFileSync(join(ROOT, 'deploy/temporal/helm-values.yaml'), 'utf8'),
  ) as TemporalValues;

  it('carry the dynamic config farmflow relies on, as deploy/temporal/dynamicconfig.yaml has it', () => {
    const dynamicConfig = parseYaml(
      readFileSync(join(ROOT, 'deploy/temporal/dynamicconfig.yaml'), 'utf8'),
    ) as Record<string, unknown>;
    expect(Object.keys(dynamicConfig)).toContain('history.transferProcessorMaxPollRPS');
    expect(values.server.dynamicConfig).toEqual(dynamicConfig);
  });

  it('keep history and SQL advanced visibility on PostgreSQL, with more than one history shard', () => {
    const { persistence } = values.server.config;
    expect(persistence.numHistoryShards).toBeGreaterThan(1);
    for (const [store, database] of [
      [persistence.defaultStore, 'temporal'],
      [persistence.visibilityStore, 'temporal_visibility'],
    ] as const) {
      const { sql } = persistence.datastores[store]!;
      expect(sql).toMatchObject({ pluginName: 'postgres12', databaseName: database });
      expect(sql.connectAddr).toMatch(/^[^:]+:\d+$/);
      // Passwords from a Secret, never in the file.
      expect(sql.password).toBeUndefined();
      expect(sql.existingSecret).toBeTruthy();
    }
    // The server version farmflow is tested against (the stack builds the same).
    expect(values.server.image.tag).toBe(TEMPORAL_SERVER_VERSION);
    expect(
      values.server.config.namespaces.namespace.map((n: { name: string }) => n.name),
    ).toContain('default');
  });
});
