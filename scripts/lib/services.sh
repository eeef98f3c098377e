# shellcheck shell=bash
# Starts a throw-away PostgreSQL cluster and MinIO server on 127.0.0.1 (free ports,
# temporary data dirs, non-default credentials) and exports CALLREC_TEST_* for the tests.
# stop_services removes them again. Source scripts/lib/system.sh first.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

SERVICES_DIR=""

start_postgres() {
  local bindir port pw run_as=()
  bindir="$(pg_bindir)"
  port="$(free_port)"
  pw="pg-$(openssl rand -hex 12)"
  mkdir -p "$SERVICES_DIR/pg"
  if [ "$(id -u)" = "0" ]; then
    chown -R postgres:postgres "$SERVICES_DIR/pg"
    chmod 755 "$SERVICES_DIR"
    run_as=(runuser -u postgres --)
  fi
  printf '%s\n' "$pw" > "$SERVICES_DIR/pg/pwfile"
  [ "$(id -u)" = "0" ] && chown postgres "$SERVICES_DIR/pg/pwfile"
  "${run_as[@]}" "$bindir/initdb" -D "$SERVICES_DIR/pg/data" -U callrec --pwfile="$SERVICES_DIR/pg/pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$SERVICES_DIR/pg/initdb.log" 2>&1 \
    || { cat "$SERVICES_DIR/pg/initdb.log" >&2; return 1; }
  "${run_as[@]}" "$bindir/pg_ctl" -D "$SERVICES_DIR/pg/data" -l "$SERVICES_DIR/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$SERVICES_DIR/pg -c max_connections=200 -c fsync=off" start >&2 \
    || { cat "$SERVICES_DIR/pg/server.log" >&2; return 1; }
  export CALLREC_TEST_PG_URL="postgres://callrec:$pw@127.0.0.1:$port/postgres"
  log "PostgreSQL $(basename "$(dirname "$bindir")") on 127.0.0.1:$port"
}

start_minio() {
  local port console user pw
  port="$(free_port)"; console="$(free_port)"
  user="callrec-test-$(openssl rand -hex 4)"; pw="$(openssl rand -hex 20)"
  mkdir -p "$SERVICES_DIR/minio/data"
  MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$pw" MINIO_BROWSER=off MINIO_UPDATE=off \
    "$(minio_bin)" server "$SERVICES_DIR/minio/data" --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" --quiet \
    >"$SERVICES_DIR/minio/server.log" 2>&1 &
  echo $! > "$SERVICES_DIR/minio/pid"
  local i
  for i in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/minio/health/ready" >/dev/null 2>&1 && break
    kill -0 "$(cat "$SERVICES_DIR/minio/pid")" 2>/dev/null || { cat "$SERVICES_DIR/minio/server.log" >&2; return 1; }
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/minio/health/ready" >/dev/null || { log "MinIO did not become ready"; cat "$SERVICES_DIR/minio/server.log" >&2; return 1; }
  export CALLREC_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export CALLREC_TEST_S3_ACCESS_KEY_ID="$user"
  export CALLREC_TEST_S3_SECRET_ACCESS_KEY="$pw"
  export CALLREC_TEST_MINIO_DATA_DIR="$SERVICES_DIR/minio/data"
  export CALLREC_TEST_MINIO_BIN="$(minio_bin)"
  export CALLREC_TEST_MINIO_PIDFILE="$SERVICES_DIR/minio/pid"
  log "MinIO on 127.0.0.1:$port"
}

start_services() {
  SERVICES_DIR="$(mktemp -d /tmp/callrec-services.XXXXXX)"
  export CALLREC_TEST_SERVICES_DIR="$SERVICES_DIR"
  start_postgres && start_minio
}

stop_services() {
  [ -n "$SERVICES_DIR" ] && [ -d "$SERVICES_DIR" ] || return 0
  if [ -f "$SERVICES_DIR/minio/pid" ]; then kill "$(cat "$SERVICES_DIR/minio/pid")" 2>/dev/null || true; fi
  if [ -d "$SERVICES_DIR/pg/data" ]; then
    local run_as=(); [ "$(id -u)" = "0" ] && run_as=(runuser -u postgres --)
    "${run_as[@]}" "$(pg_bindir)/pg_ctl" -D "$SERVICES_DIR/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$SERVICES_DIR"
}
