/** `npm run build:workflows`: writes the workflow bundle that production workers load at start. */
import { createLogger } from '../infra/logging';
import { writePrebuiltBundle } from './bundle';

writePrebuiltBundle(createLogger('info')).then(
  (path) => process.stdout.write(`workflow bundle written to ${path}\n`),
  (err: unknown) => {
    process.stderr.write(`farmflow: could not bundle the workflows: ${String(err)}\n`);
    process.exit(1);
  },
);
