/**
 * docker-compose.yml cannot be started in CI (no Docker engine), so these checks read it as data:
 * the services the app needs, the wiring between them, and that the app gets only variables the
 * config module reads. `dev/compose-check` validates the same file against the Compose
 * Specification.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { CONFIG_VARIABLES } from '../../infra/config';

const root = resolve(__dirname, '../..');
const composePath = resolve(root, 'docker-compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  ports?: (string | number | { target?: number; published?: string | number })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
}

interface ComposeFile {
  services: Record<string, Service>;
}

// Compose files use YAML merge keys (`<<: *anchor`), which YAML 1.2 only resolves on request.
const compose = parse(readFileSync(composePath, 'utf8'), { merge: true }) as ComposeFile;
const services = compose.services;

function service(name: string): Service {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

function environment(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [key, value == null ? '' : String(value)]),
  );
}

function dependencies(name: string): Record<string, string> {
  const dependsOn = service(name).depends_on ?? {};
  if (Array.isArray(dependsOn)) {
    return Object.fromEntries(dependsOn.map((dep) => [dep, 'service_started']));
  }
  return Object.fromEntries(
    Object.entries(dependsOn).map(([dep, spec]) => [dep, spec.condition ?? 'service_started']),
  );
}

/** Bind mounts as host path (relative to the repository) -> container path. */
function bindMounts(name: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of service(name).volumes ?? []) {
    if (typeof volume === 'string') {
      const [source = '', target = ''] = volume.split(':');
      if (source.startsWith('.') || source.startsWith('/')) mounts.set(source, target);
    } else if (volume.type === 'bind' && volume.source && volume.target) {
      mounts.set(volume.source, volume.target);
    }
  }
  return mounts;
}

function imageTag(name: string): { repository: string; tag: string } {
  const image = service(name).image ?? '';
  const at = image.lastIndexOf(':');
  return at < 0
    ? { repository: image, tag: '' }
    : { repository: image.slice(0, at), tag: image.slice(at + 1) };
}

function commandLine(name: string): string[] {
  const command = service(name).command ?? [];
  return Array.isArray(command) ? command : command.split(/\s+/);
}

const APP_SERVICES = ['bot', 'worker'] as const;
/**
 * The app services that call Telegram's Bot API and so need the bot token. The worker joins them
 * when it sends notifications and pictures; until then the token stays out of its environment.
 */
const BOT_API_SERVICES: readonly string[] = ['bot'];
/** Variables that only a process calling the Bot API reads. */
const BOT_API_VARIABLES = ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_API_ROOT'];

describe('docker-compose.yml', () => {
  it('is well-formed YAML', () => {
    const document = parseDocument(readFileSync(composePath, 'utf8'), { merge: true });
    expect(document.errors).toEqual([]);
    expect(document.warnings).toEqual([]);
  });

  it('has every service the stack needs', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'postgres',
        'temporal-schema',
        'temporal',
        'temporal-namespace',
        'temporal-ui',
        'redis',
        'bot',
        'worker',
      ]),
    );
  });

  it('pins every image to a version', () => {
    for (const [name, spec] of Object.entries(services)) {
      if (spec.build) continue;
      expect(imageTag(name).tag, `service ${name}: ${spec.image}`).toMatch(/^v?\d+(\.\d+)*($|-)/);
    }
  });

  it('runs Temporal server 1.29.x with admin tools of the same version', () => {
    const server = imageTag('temporal');
    expect(server.repository).toBe('temporalio/server');
    expect(server.tag).toMatch(/^1\.29\.\d+$/);
    for (const name of ['temporal-schema', 'temporal-namespace']) {
      const tools = imageTag(name);
      expect(tools.repository, name).toBe('temporalio/admin-tools');
      expect(tools.tag.split('-')[0], name).toBe(server.tag);
    }
  });

  it('stores Temporal and its visibility (search attributes) in the compose PostgreSQL', () => {
    for (const name of ['temporal', 'temporal-schema']) {
      const env = environment(name);
      expect(env.DB, name).toBe('postgres12');
      expect(env.POSTGRES_SEEDS, name).toBe('postgres');
      expect(env.DBNAME, name).toBe('temporal');
      expect(env.VISIBILITY_DBNAME, name).toBe('temporal_visibility');
    }
    // SQL visibility is what supports custom search attributes without Elasticsearch.
    expect(environment('temporal').ENABLE_ES ?? 'false').toBe('false');
  });

  it('starts the server only after the schema setup succeeded, and the app after the namespace', () => {
    expect(dependencies('temporal-schema')).toMatchObject({ postgres: 'service_healthy' });
    expect(dependencies('temporal')).toMatchObject({
      'temporal-schema': 'service_completed_successfully',
    });
    expect(dependencies('temporal-namespace')).toMatchObject({ temporal: 'service_healthy' });
    for (const name of APP_SERVICES) {
      expect(dependencies(name), name).toMatchObject({
        temporal: 'service_healthy',
        'temporal-namespace': 'service_completed_successfully',
        redis: 'service_healthy',
      });
    }
  });

  it('has health checks wherever something waits for a service to be healthy', () => {
    for (const name of Object.keys(services)) {
      for (const [dep, condition] of Object.entries(dependencies(name))) {
        if (condition !== 'service_healthy') continue;
        const healthcheck = service(dep).healthcheck;
        expect(healthcheck?.test, `${name} waits for ${dep} to be healthy`).toBeTruthy();
        expect(healthcheck?.disable ?? false).toBe(false);
      }
    }
  });

  it('mounts the setup scripts and the dynamic config from files in the repository', () => {
    for (const name of ['temporal-schema', 'temporal-namespace', 'temporal']) {
      const mounts = bindMounts(name);
      expect(mounts.size, name).toBeGreaterThan(0);
      for (const source of mounts.keys()) {
        expect(existsSync(resolve(root, source)), `${name}: ${source}`).toBe(true);
      }
    }
    const namespaceScript = [...bindMounts('temporal-namespace').keys()]
      .map((source) => readFileSync(resolve(root, source), 'utf8'))
      .join('\n')
      .replace(/\\\n\s*/g, ' ');
    expect(namespaceScript).toMatch(/search-attribute create .*--name UserHash --type Keyword/);
  });

  it("gives the Temporal server a dynamic config that raises the transfer queue's poll rate", () => {
    const path = environment('temporal').DYNAMIC_CONFIG_FILE_PATH;
    expect(path).toBeTruthy();
    const source = [...bindMounts('temporal').entries()].find(([, target]) => target === path)?.[0];
    expect(source, `a bind mount providing ${path}`).toBeTruthy();
    const dynamicConfig = parse(readFileSync(resolve(root, source ?? ''), 'utf8')) as Record<
      string,
      { value: unknown; constraints?: unknown }[]
    >;
    const values = dynamicConfig['history.transferProcessorMaxPollRPS'] ?? [];
    expect(values).toHaveLength(1);
    // The server's default is 20 reads/s per shard, a 50 ms dispatch grid.
    expect(values[0]?.value).toBeGreaterThanOrEqual(1000);
  });

  it('gives bot and worker only variables the config module reads', () => {
    const known = new Set<string>(CONFIG_VARIABLES);
    for (const name of APP_SERVICES) {
      const unknown = Object.keys(environment(name)).filter((key) => !known.has(key));
      expect(unknown, `service ${name}`).toEqual([]);
    }
  });

  it('points bot and worker at the compose Temporal and Redis', () => {
    for (const name of APP_SERVICES) {
      const env = environment(name);
      expect(env.TEMPORAL_ADDRESS, name).toBe('temporal:7233');
      expect(env.TEMPORAL_NAMESPACE ?? 'default', name).toBe(
        environment('temporal-namespace').TEMPORAL_NAMESPACE,
      );
      expect(new URL(env.REDIS_URL ?? '').host, name).toBe('redis:6379');
    }
  });

  it('requires the secrets from the environment instead of shipping defaults', () => {
    for (const name of APP_SERVICES) {
      const env = environment(name);
      const secrets = BOT_API_SERVICES.includes(name)
        ? ['TELEGRAM_BOT_TOKEN', 'USER_HASH_SECRET']
        : ['USER_HASH_SECRET'];
      for (const key of secrets) {
        expect(env[key], `${name}: ${key}`).toMatch(new RegExp(`^\\$\\{${key}:\\?.+\\}$`));
      }
    }
    const bot = environment('bot');
    for (const key of ['TELEGRAM_WEBHOOK_URL', 'TELEGRAM_WEBHOOK_SECRET']) {
      expect(bot[key], key).toMatch(new RegExp(`^\\$\\{${key}(:?[-?].*)?\\}$`));
    }
  });

  it('gives the bot token only to the services that call the Bot API', () => {
    expect(BOT_API_SERVICES.every((name) => name in services)).toBe(true);
    for (const [name] of Object.entries(services)) {
      const env = environment(name);
      for (const key of BOT_API_VARIABLES) {
        if (BOT_API_SERVICES.includes(name)) expect(env, `${name}: ${key}`).toHaveProperty(key);
        else expect(env, `${name}: ${key}`).not.toHaveProperty(key);
      }
    }
  });

  it('serves the bot on all container interfaces and publishes its HTTP port', () => {
    const env = environment('bot');
    expect(env.HTTP_HOST).toBe('0.0.0.0');
    expect(env.HTTP_PORT).toBe('3000');
    const published = (service('bot').ports ?? []).map((port) =>
      typeof port === 'object' ? String(port.target) : String(port).split(':').at(-1),
    );
    expect(published).toContain('3000');
    expect(JSON.stringify(service('bot').healthcheck?.test)).toContain(':3000/healthz');
  });

  it('runs the same entry points as the npm start scripts', () => {
    const scripts = (
      JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    for (const name of APP_SERVICES) {
      const entry = commandLine(name).at(-1) ?? '';
      expect(entry, name).toMatch(/\.ts$/);
      expect(scripts[`start:${name}`]?.split(/\s+/).at(-1), name).toBe(entry);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8');
  const dockerignore = readFileSync(resolve(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim());

  it('builds the workflow bundle and runs as the unprivileged node user in production mode', () => {
    expect(dockerfile).toMatch(/^FROM node:\S+|^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    expect(dockerfile).toMatch(/^RUN npm run build:workflows$/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(dockerfile).toMatch(/^ENV NODE_ENV=production$/m);
    const users = [...dockerfile.matchAll(/^USER (\S+)$/gm)].map((match) => match[1]);
    expect(users.at(-1)).toBe('node');
  });

  it("makes every folder the app writes, and the app's volumes mount, the node user's", () => {
    const owned = /^RUN mkdir -p ([^&]+) && chown node:node ([^\n]+)$/m.exec(dockerfile);
    const made = owned?.[1]?.trim().split(/\s+/) ?? [];
    const chowned = owned?.[2]?.trim().split(/\s+/) ?? [];
    expect(made).toEqual(chowned);
    for (const name of APP_SERVICES) {
      const env = environment(name);
      for (const variable of ['DATA_DIR', 'SHARED_FILES_DIR'])
        expect(made, name).toContain(env[variable]);
      // A named volume mounted on an empty path is created root-owned; on one of these, it
      // takes the image's owner.
      for (const volume of service(name).volumes ?? []) {
        const target = typeof volume === 'string' ? volume.split(':')[1] : volume.target;
        expect(made, `${name} mounts ${target}`).toContain(target);
      }
    }
  });

  it('keeps secrets and build output out of the build context', () => {
    expect(dockerignore).toEqual(
      expect.arrayContaining(['node_modules', 'data', 'dist', '.git', 'test', '.env']),
    );
  });
});
