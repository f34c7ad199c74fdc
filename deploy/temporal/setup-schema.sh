#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases (persistence and visibility). Run by
# the one-shot `temporal-schema` service of docker-compose.yml, in the temporalio/admin-tools
# image that ships temporal-sql-tool, before the server starts; and by `npm run stack`, with
# TEMPORAL_SQL_TOOL naming the tool it built from the server's Go module. The schemas are the ones
# embedded in the tool (--schema-name), so the tool and the server always come from one version.
#
# Safe to run on every `docker compose up`: `create` leaves an existing database alone,
# `setup-schema -v 0.0` only adds the version tables when they are missing, and `update-schema`
# applies just the versions the database does not have yet, which is also how a newer server
# image gets its schema upgrade.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
# Empty for a role the server trusts (a local PostgreSQL's trust authentication).
POSTGRES_PWD="${POSTGRES_PWD-}"
DB_PORT="${DB_PORT:-5432}"
SQL_TOOL="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"

# temporal-sql-tool reads the password from the environment, which keeps it off `ps` output.
SQL_PASSWORD="$POSTGRES_PWD"
export SQL_PASSWORD

sql_tool() {
  database=$1
  shift
  "$SQL_TOOL" --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$DB_PORT" \
    --user "$POSTGRES_USER" --database "$database" "$@"
}

setup_database() {
  database=$1
  schema=$2
  echo "temporal-schema: setting up database $database with schema $schema"
  sql_tool "$database" create
  sql_tool "$database" setup-schema -v 0.0
  sql_tool "$database" update-schema --schema-name "$schema"
}

setup_database "${DBNAME:-temporal}" postgresql/v12/temporal
setup_database "${VISIBILITY_DBNAME:-temporal_visibility}" postgresql/v12/visibility
echo "temporal-schema: done"
