#!/bin/sh
# Registers the namespace the app uses and its `UserHash` search attribute (Keyword), then waits
# until the server accepts queries on it. Run by the one-shot `temporal-namespace` service of
# docker-compose.yml (temporalio/admin-tools image) once the server is healthy; bot and worker
# start only after it succeeded, so their first workflow can already carry UserHash.
#
# Safe to re-run: an existing namespace is kept as it is, and adding a search attribute that
# already exists with the same type changes nothing. The temporal CLI takes the server address
# and the namespace from TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.
set -eu

NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
# Closed workflows stay visible (UI filter `UserHash = "…"`) for a week of support requests.
RETENTION=168h
ATTEMPTS=60
PAUSE_SECONDS=2

log() {
  echo "temporal-namespace: $*"
}

# retry DESCRIPTION COMMAND...: runs COMMAND until it succeeds, for about two minutes.
retry() {
  description=$1
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
      log "gave up waiting for: $description"
      return 1
    fi
    log "waiting for: $description (attempt $attempt/$ATTEMPTS)"
    attempt=$((attempt + 1))
    sleep "$PAUSE_SECONDS"
  done
}

ensure_namespace() {
  temporal operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1 ||
    temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
      --description "farmflow game workflows"
}

# The server learns about a new namespace on its next cache refresh, so the first attempts may
# fail with "namespace not found"; retry covers that.
ensure_user_hash() {
  if output=$(temporal operator search-attribute create --namespace "$NAMESPACE" \
    --name UserHash --type Keyword 2>&1); then
    return 0
  fi
  case "$output" in
    *"different type"*)
      # Retrying cannot fix this: an operator has to remove or rename the attribute.
      log "$output"
      exit 1
      ;;
    *"already exists"*)
      return 0
      ;;
  esac
  log "$output"
  return 1
}

# A query on UserHash succeeds only once the server maps the attribute for this namespace, which
# is exactly what starting a workflow with it needs.
user_hash_queryable() {
  temporal workflow count --namespace "$NAMESPACE" --query 'UserHash = "setup-probe"' >/dev/null
}

retry "the Temporal server" temporal operator cluster health
retry "namespace $NAMESPACE" ensure_namespace
retry "search attribute UserHash" ensure_user_hash
retry "queries on UserHash" user_hash_queryable
log "namespace $NAMESPACE is ready with search attribute UserHash (Keyword)"
