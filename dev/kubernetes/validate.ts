/**
 * Offline checks of the Kubernetes chart (deploy/kubernetes/farmflow): `helm lint --strict`, then
 * `helm template` with each values file under deploy/kubernetes/ci (and the chart's defaults), and
 * `kubeconform -strict` on what it renders, against the schemas of schemas.ts. No cluster, no
 * download but Go modules.
 *
 *   npx tsx dev/kubernetes/validate.ts   (CI runs it through test/deploy/kubernetes.test.ts)
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GoBuildError } from '../go-build';
import { KUBERNETES_VERSION, ensureSchemas } from './schemas';
import { ensureHelm, ensureKubeconform } from './tools';

const execFileAsync = promisify(execFile);

export const CHART_DIR = join(__dirname, '..', '..', 'deploy', 'kubernetes', 'farmflow');
/** Values files each rendered and validated in CI beside the defaults (the chart's variants). */
export const CI_VALUES_DIR = join(__dirname, '..', '..', 'deploy', 'kubernetes', 'ci');

const MAX_OUTPUT = 64 * 1024 * 1024;

export interface Tools {
  helm: string;
  kubeconform: string;
  schemaLocations: string[];
}

export async function ensureTools(say: (line: string) => void): Promise<Tools> {
  const [helm, kubeconform, schemas] = [
    await ensureHelm(say),
    await ensureKubeconform(say),
    await ensureSchemas(say),
  ];
  return { helm, kubeconform, schemaLocations: schemas.locations };
}

/** `helm lint --strict` of the chart with `valuesFiles`; throws with its output when it fails. */
export async function lintChart(tools: Tools, valuesFiles: string[] = []): Promise<string> {
  const args = ['lint', '--strict', CHART_DIR, ...valuesFiles.flatMap((file) => ['-f', file])];
  try {
    const { stdout } = await execFileAsync(tools.helm, args, { maxBuffer: MAX_OUTPUT });
    return stdout;
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`helm lint failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: err });
  }
}

/** The manifests the chart renders with `valuesFiles` and `--set` pairs, as one YAML stream. */
export async function renderChart(
  tools: Tools,
  { valuesFiles = [], set = [] }: { valuesFiles?: string[]; set?: string[] } = {},
): Promise<string> {
  const args = [
    'template',
    'farmflow',
    CHART_DIR,
    '--namespace',
    'farmflow',
    '--kube-version',
    KUBERNETES_VERSION,
    ...valuesFiles.flatMap((file) => ['-f', file]),
    ...set.flatMap((pair) => ['--set', pair]),
  ];
  try {
    const { stdout } = await execFileAsync(tools.helm, args, { maxBuffer: MAX_OUTPUT });
    return stdout;
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`helm template failed: ${stderr ?? String(err)}`, { cause: err });
  }
}

export interface Validation {
  valid: number;
  invalid: number;
  errors: number;
  skipped: number;
  /** kubeconform's line for each resource that is not valid. */
  problems: string[];
}

/** kubeconform -strict on a YAML stream: every resource needs a schema (none is skipped). */
export async function validateManifests(tools: Tools, manifests: string): Promise<Validation> {
  const args = [
    '-strict',
    '-summary',
    '-output',
    'json',
    '-kubernetes-version',
    KUBERNETES_VERSION.slice(1),
    ...tools.schemaLocations.flatMap((location) => ['-schema-location', location]),
    '-',
  ];
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    const child = execFile(tools.kubeconform, args, { maxBuffer: MAX_OUTPUT }, (err, out) => {
      // Exit status 1 means "not all valid": the JSON says which.
      if (err && typeof err.code !== 'number')
        reject(new Error(`kubeconform did not run: ${err.message}`, { cause: err }));
      else resolve({ stdout: out });
    });
    child.stdin?.end(manifests);
  });
  const report = JSON.parse(stdout) as {
    resources?: { filename: string; kind: string; name: string; status: string; msg: string }[];
    summary: { valid: number; invalid: number; errors: number; skipped: number };
  };
  return {
    ...report.summary,
    problems: (report.resources ?? [])
      .filter((resource) => resource.status !== 'statusValid')
      .map((resource) => `${resource.kind} ${resource.name}: ${resource.status}: ${resource.msg}`),
  };
}

/** Each variant the CI checks: the defaults, then every file under deploy/kubernetes/ci. */
export function ciVariants(): { name: string; valuesFiles: string[] }[] {
  const files = readdirSync(CI_VALUES_DIR)
    .filter((name) => name.endsWith('.yaml'))
    .sort();
  return [
    { name: 'defaults', valuesFiles: [] },
    ...files.map((name) => ({ name, valuesFiles: [join(CI_VALUES_DIR, name)] })),
  ];
}

async function main() {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const tools = await ensureTools(say);
  let failed = 0;
  for (const variant of ciVariants()) {
    await lintChart(tools, variant.valuesFiles);
    const result = await validateManifests(
      tools,
      await renderChart(tools, { valuesFiles: variant.valuesFiles }),
    );
    const ok = result.invalid + result.errors + result.skipped === 0;
    if (!ok) failed += 1;
    process.stdout.write(
      `${ok ? 'valid' : 'NOT VALID'} ${variant.name}: ${result.valid} resources valid, ${result.invalid} invalid, ${result.errors} errors, ${result.skipped} without a schema\n`,
    );
    for (const problem of result.problems) process.stdout.write(`  ${problem}\n`);
  }
  process.exit(failed ? 1 : 0);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`farmflow: ${err instanceof GoBuildError ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
