# shellcheck shell=bash
# Starts a throw-away PostgreSQL cluster and MinIO server (start_services) and SeaweedFS server
# (start_seaweedfs) on 127.0.0.1 (free ports, temporary data dirs, non-default credentials) and
# exports CALLREC_TEST_* for the tests.
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

# SeaweedFS (master, volume server, filer and S3 gateway in one `weed server`), every port a
# free one on 127.0.0.1 (its Iceberg and Lance ports off), one identity with an access key.
# Exports CALLREC_TEST_SEAWEEDFS_S3_* as start_minio exports CALLREC_TEST_S3_*. Not part of
# start_services (the benchmarks run on MinIO alone): scripts/test starts it after them.
start_seaweedfs() {
  local dir="$SERVICES_DIR/seaweedfs" key secret s3 i master_grpc volume_grpc filer_grpc s3_grpc
  key="callrec-test-$(openssl rand -hex 4)"; secret="$(openssl rand -hex 20)"
  s3="$(free_port)"; master_grpc="$(free_port)"; volume_grpc="$(free_port)"; filer_grpc="$(free_port)"; s3_grpc="$(free_port)"
  mkdir -p "$dir/data"
  # weed puts a unix socket per gRPC port at a fixed place in /tmp; stop_services removes them.
  printf '/tmp/seaweedfs-%s.sock\n' "master-grpc-$master_grpc" "volume-grpc-$volume_grpc" "filer-grpc-$filer_grpc" "s3-grpc-$s3_grpc" > "$dir/sockets"
  cat > "$dir/s3.json" <<JSON
{"identities": [{"name": "callrec-test", "credentials": [{"accessKey": "$key", "secretKey": "$secret"}],
  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
JSON
  # Logs go to server.log (not /tmp). Each bucket is a collection that grows volumes of its own:
  # many small volumes, not 8 of 30 GB.
  "$(seaweedfs_bin)" -logtostderr server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="$(free_port)" -master.port.grpc="$master_grpc" -master.volumeSizeLimitMB=64 -master.telemetry=false \
    -volume.port="$(free_port)" -volume.port.grpc="$volume_grpc" -volume.max=1000 \
    -filer -filer.port="$(free_port)" -filer.port.grpc="$filer_grpc" -filer.localSocket="$dir/filer.sock" \
    -s3 -s3.port="$s3" -s3.port.grpc="$s3_grpc" -s3.port.iceberg=0 -s3.port.lance=0 -s3.localSocket="$dir/s3.sock" \
    -s3.config="$dir/s3.json" >"$dir/server.log" 2>&1 &
  echo $! > "$dir/pid"
  disown $!  # stop_services may have to kill it: no "Killed" notice from this shell
  # Ready when a signed ListBuckets answers 200: the gateway is up and reaches its filer.
  local ready=""
  for i in $(seq 1 240); do
    if curl -fsS -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" "http://127.0.0.1:$s3/" 2>/dev/null; then ready=1; break; fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { tail -50 "$dir/server.log" >&2; return 1; }
    sleep 0.5
  done
  [ -n "$ready" ] || { log "SeaweedFS did not become ready"; tail -50 "$dir/server.log" >&2; return 1; }
  export CALLREC_TEST_SEAWEEDFS_S3_ENDPOINT="http://127.0.0.1:$s3"
  export CALLREC_TEST_SEAWEEDFS_S3_ACCESS_KEY_ID="$key"
  export CALLREC_TEST_SEAWEEDFS_S3_SECRET_ACCESS_KEY="$secret"
  log "SeaweedFS S3 on 127.0.0.1:$s3"
}

start_services() {
  SERVICES_DIR="$(mktemp -d /tmp/callrec-services.XXXXXX)"
  export CALLREC_TEST_SERVICES_DIR="$SERVICES_DIR"
  start_postgres && start_minio
}

stop_services() {
  [ -n "$SERVICES_DIR" ] && [ -d "$SERVICES_DIR" ] || return 0
  if [ -f "$SERVICES_DIR/minio/pid" ]; then kill "$(cat "$SERVICES_DIR/minio/pid")" 2>/dev/null || true; fi
  if [ -f "$SERVICES_DIR/seaweedfs/pid" ]; then
    local weed i; weed="$(cat "$SERVICES_DIR/seaweedfs/pid")"
    # weed takes ~25 s to stop on SIGTERM; its data is thrown away, so after 2 s it is killed.
    kill "$weed" 2>/dev/null || true
    for i in $(seq 1 8); do kill -0 "$weed" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$weed" 2>/dev/null; then kill -9 "$weed" 2>/dev/null || true; fi
    for i in $(seq 1 20); do kill -0 "$weed" 2>/dev/null || break; sleep 0.05; done
    if [ -f "$SERVICES_DIR/seaweedfs/sockets" ]; then xargs rm -f < "$SERVICES_DIR/seaweedfs/sockets"; fi
  fi
  if [ -d "$SERVICES_DIR/pg/data" ]; then
    local run_as=(); [ "$(id -u)" = "0" ] && run_as=(runuser -u postgres --)
    "${run_as[@]}" "$(pg_bindir)/pg_ctl" -D "$SERVICES_DIR/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$SERVICES_DIR"
}
