#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases (persistence and visibility). Run by
# the one-shot `temporal-schema` service of docker-compose.yml, in the temporalio/admin-tools
# image that ships temporal-sql-tool and the schema files, before the server starts.
#
# Safe to run on every `docker compose up`: `create` leaves an existing database alone,
# `setup-schema -v 0.0` only adds the version tables when they are missing, and `update-schema`
# applies just the versions the database does not have yet, which is also how a newer server
# image gets its schema upgrade.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${POSTGRES_PWD:?POSTGRES_PWD must be set}"
DB_PORT="${DB_PORT:-5432}"
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

# temporal-sql-tool reads the password from the environment, which keeps it off `ps` output.
SQL_PASSWORD="$POSTGRES_PWD"
export SQL_PASSWORD

sql_tool() {
  database=$1
  shift
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$DB_PORT" \
    --user "$POSTGRES_USER" --database "$database" "$@"
}

setup_database() {
  database=$1
  schema_dir=$2
  echo "temporal-schema: setting up database $database from $schema_dir"
  sql_tool "$database" create
  sql_tool "$database" setup-schema -v 0.0
  sql_tool "$database" update-schema -d "$schema_dir"
}

setup_database "${DBNAME:-temporal}" "$SCHEMA_ROOT/temporal/versioned"
setup_database "${VISIBILITY_DBNAME:-temporal_visibility}" "$SCHEMA_ROOT/visibility/versioned"
echo "temporal-schema: done"
