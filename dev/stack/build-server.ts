/**
 * Builds the Temporal server and its SQL tool once per machine (if not cached yet) and prints
 * their folder. Used by .ci/run before the tests; `npm run stack` and `npm run chaos` call the
 * same code in-process.
 */
import { dirname } from 'node:path';
import { GoBuildError } from '../go-build';
import { ensureTemporalServer } from './temporal-server';

ensureTemporalServer({ say: (line) => process.stderr.write(`${line}\n`) }).then(
  ({ server }) => process.stdout.write(`${dirname(server)}\n`),
  (err: unknown) => {
    process.stderr.write(`farmflow: ${err instanceof GoBuildError ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
