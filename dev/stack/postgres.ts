/**
 * The PostgreSQL a stack keeps Temporal's databases in (POSTGRES_URL): checked before anything
 * starts, so an unreachable server or a role without rights is one clear sentence, not a Go stack
 * trace from the SQL tool; and the databases dropped again by `--reset` and the chaos play.
 */
import pg from 'pg';

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The database the checks connect to (the URL's path; `postgres` when it has none). */
  database: string;
}

export class PostgresError extends Error {
  override name = 'PostgresError';
}

const CONNECT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 30_000;

export function parsePostgresUrl(url: string): PostgresTarget {
  const parsed = new URL(url);
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new PostgresError(`POSTGRES_URL must start with postgres://, not ${parsed.protocol}//`);
  }
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username) || 'postgres',
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)) || 'postgres',
  };
}

/** For messages: the target without its password. */
export function describeTarget(target: PostgresTarget): string {
  return `postgres://${target.user}@${target.host}:${target.port}/${target.database}`;
}

async function connect(target: PostgresTarget): Promise<pg.Client> {
  const client = new pg.Client({
    ...target,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
  });
  // An error after connecting (the server restarted) must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new PostgresError(connectionProblem(target, err));
  }
}

function connectionProblem(target: PostgresTarget, err: unknown): string {
  const { code, message } = err as { code?: string; message?: string };
  const where = describeTarget(target);
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH' ||
    /timeout/i.test(message ?? '')
  ) {
    return (
      `PostgreSQL is not reachable at ${target.host}:${target.port} (${code ?? message}). Start it ` +
      '(Debian: pg_ctlcluster 15 main start; or docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16), ' +
      'or point POSTGRES_URL at one.'
    );
  }
  if (code === '28P01' || code === '28000') {
    return `PostgreSQL refused role ${target.user} at ${where}: ${message}. Set the user and password in POSTGRES_URL.`;
  }
  if (code === '3D000') {
    return `PostgreSQL at ${where} has no database ${target.database}: name an existing one in POSTGRES_URL's path (postgres is the usual).`;
  }
  return `PostgreSQL at ${where} failed: ${message ?? String(err)}`;
}

/**
 * The role must be able to create databases: the SQL tool creates the stack's two and its
 * schema, and `--reset` drops them.
 */
export async function checkPostgres(target: PostgresTarget): Promise<{ version: string }> {
  const client = await connect(target);
  try {
    const { rows } = await client.query<{
      rolsuper: boolean;
      rolcreatedb: boolean;
      version: string;
    }>(
      `SELECT rolsuper, rolcreatedb, current_setting('server_version') AS version
         FROM pg_roles WHERE rolname = current_user`,
    );
    const role = rows[0];
    if (!role || (!role.rolsuper && !role.rolcreatedb)) {
      throw new PostgresError(
        `PostgreSQL role ${target.user} may not create databases, which the stack needs for Temporal's two. ` +
          `Grant it (ALTER ROLE ${target.user} CREATEDB) or use another role in POSTGRES_URL.`,
      );
    }
    return { version: role.version };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Names the stack's tools accept unquoted: the SQL tool does not quote database names. */
export const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function databaseExists(target: PostgresTarget, name: string): Promise<boolean> {
  const client = await connect(target);
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return (rowCount ?? 0) > 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drops the databases, closing their connections first; missing ones are fine. */
export async function dropDatabases(target: PostgresTarget, names: string[]): Promise<void> {
  const client = await connect(target);
  try {
    for (const name of names) {
      if (!DATABASE_NAME.test(name)) throw new PostgresError(`not a stack database name: ${name}`);
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
