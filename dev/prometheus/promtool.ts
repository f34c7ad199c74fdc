/**
 * promtool, Prometheus's checker, built from Go modules once per machine (dev/go-build.ts):
 * `npx tsx dev/prometheus/promtool.ts check rules deploy/prometheus/alerts.yml` runs it with the
 * arguments given (CI checks the alert rules and their unit tests this way). PROMTOOL_PATH names an
 * existing promtool instead (Debian's `prometheus` package ships one).
 */
import { spawnSync } from 'node:child_process';
import { ensureGoTool, GoBuildError, type GoBuild } from '../go-build';

/** Prometheus 3.16's Go module; the first 3.x tag `go install` takes (no replace directives). */
export const PROMETHEUS_MODULE_VERSION = 'v0.316.0';

export const PROMTOOL_BUILD = {
  what: `promtool ${PROMETHEUS_MODULE_VERSION}`,
  packages: [`github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_MODULE_VERSION}`],
  binaries: ['promtool'],
  cacheFolder: `promtool/${PROMETHEUS_MODULE_VERSION}`,
  minGo: [1, 26],
  duration: 'about 4 minutes on 2 cores',
  instead: "point PROMTOOL_PATH at a promtool (Debian's prometheus package has one)",
} as const satisfies GoBuild;

export const ensurePromtool = (say: (line: string) => void) =>
  ensureGoTool(PROMTOOL_BUILD, 'PROMTOOL_PATH', say);

if (require.main === module) {
  ensurePromtool((line) => process.stderr.write(`${line}\n`)).then(
    (promtool) => {
      const run = spawnSync(promtool, process.argv.slice(2), { stdio: 'inherit' });
      process.exit(run.status ?? 1);
    },
    (err: unknown) => {
      process.stderr.write(
        `farmflow: ${err instanceof GoBuildError ? err.message : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
