/**
 * Prints the path of the Temporal CLI, building it first when this machine has none.
 * Used by .ci/run; `npm start`, the tests and the benchmarks call the same code in-process.
 */
import { loadTemporalCliPath } from '../../infra/config';
import { cliVersion, ensureTemporalCli } from './cli';
import { GoBuildError } from '../go-build';

async function main() {
  const path = await ensureTemporalCli({
    configuredPath: loadTemporalCliPath(),
    say: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(`${await cliVersion(path)}\n`);
  process.stdout.write(`${path}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`farmflow: ${err instanceof GoBuildError ? err.message : String(err)}\n`);
  process.exit(1);
});
