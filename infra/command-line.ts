/**
 * Command-line parsing for the tools (commander): usage errors and `--help` end in an exit status
 * instead of commander exiting the process itself, so that a tool's `main` decides when to exit.
 */
import { type Command, CommanderError, InvalidArgumentError } from 'commander';

/** Exit statuses of a parse that ends the command: 0 for --help, 2 for a usage error. */
export const USAGE_EXIT = 2;

/** Parses argv; returns undefined to go on, or the exit status when the parse ends the command. */
export function parseCommandLine(program: Command, argv = process.argv): number | undefined {
  program.exitOverride().configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    program.parse(argv);
    return undefined;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
        ? 0
        : USAGE_EXIT;
    }
    throw err;
  }
}

/** An option's parser: a number above 0, at most `max`. */
export const positiveNumber = (max: number) => (text: string) => {
  const n = Number(text);
  if (!(n > 0 && n <= max)) throw new InvalidArgumentError(`a number above 0, at most ${max}`);
  return n;
};
