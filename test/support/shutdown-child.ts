/**
 * A process with one shutdown step that takes long (an update that does not finish), for the
 * shutdown test: it prints "ready" once its signal handlers are in place.
 */
import { createShutdown } from '../../infra/shutdown';
import { createLogger } from '../../infra/logging';

const shutdown = createShutdown(createLogger('info'));
shutdown.add('slow step', () => new Promise((resolve) => setTimeout(resolve, 30_000)));
setInterval(() => {}, 1000);
process.stderr.write('ready\n');
