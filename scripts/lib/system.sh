# shellcheck shell=bash
# System requirements: checks for commands and installs Debian packages where it can
# (root with apt-get); otherwise fails with the command that installs them.

CALLREC_TOOLS_DIR="${CALLREC_TOOLS_DIR:-$HOME/.cache/callrec-tools}"
# Pinned MinIO (Go module pseudo-version of the RELEASE.2026-02 line). Bump deliberately.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
# Pinned SeaweedFS, the second S3 server of the tests (Go module pseudo-version). Bump deliberately.
SEAWEEDFS_MODULE="github.com/seaweedfs/seaweedfs"
SEAWEEDFS_VERSION="v0.0.0-20261109003541-7506e5f91cd6"

_apt_updated=""
log() { printf '%s\n' "$*" >&2; }

# ensure_packages "cmd:package" ... — installs the packages whose command is missing.
ensure_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd="${pair%%:*}"; pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing system packages: ${missing[*]}"
    if [ -z "$_apt_updated" ]; then apt-get update -qq >&2; _apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    log "missing system packages: ${missing[*]}"
    log "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    return 1
  fi
}

# ensure_node_modules — installs npm dependencies unless node_modules was installed from this very
# package-lock.json (its sha256 is stamped into node_modules after a successful `npm ci`; mtimes are
# not trusted: `npm install` writes the lock after node_modules). One install at a time (flock), so
# two test runs started together never delete each other's half-built node_modules.
ensure_node_modules() {
  local stamp=node_modules/.callrec-lock.sha256 want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  (
    flock 9
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0
    log "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund >&2
    printf '%s\n' "$want" > "$stamp"
  ) 9>"${TMPDIR:-/tmp}/callrec-npm-ci.lock"
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_postgres() {
  pg_bindir >/dev/null && return 0
  ensure_packages "/usr/lib/postgresql/none/bin/pg_ctl:postgresql" || return 1
  pg_bindir >/dev/null || { log "PostgreSQL server not found after install; install it with: apt-get install -y postgresql"; return 1; }
}

minio_bin() { echo "$CALLREC_TOOLS_DIR/minio-$MINIO_VERSION/minio"; }

ensure_minio() {
  local bin; bin="$(minio_bin)"
  [ -x "$bin" ] && return 0
  if ! command -v go >/dev/null 2>&1; then
    log "MinIO is needed for the S3 tests and is built with Go; install Go, then run: GOBIN=$(dirname "$bin") go install $MINIO_MODULE@$MINIO_VERSION"
    return 1
  fi
  log "building MinIO $MINIO_VERSION with go install (cached in $(dirname "$bin"); takes a few minutes once)"
  mkdir -p "$(dirname "$bin")"
  if ! (cd /tmp && GOBIN="$(dirname "$bin")" GOFLAGS=-trimpath go install "$MINIO_MODULE@$MINIO_VERSION" >&2); then
    log "could not build MinIO; run: GOBIN=$(dirname "$bin") go install $MINIO_MODULE@$MINIO_VERSION"
    return 1
  fi
}

seaweedfs_bin() { echo "$CALLREC_TOOLS_DIR/seaweedfs-$SEAWEEDFS_VERSION/weed"; }

# ensure_seaweedfs — builds SeaweedFS's `weed` once into the tools cache. Its go.mod has replace
# directives, which `go install module@version` refuses, so the module's source is downloaded
# (`go mod download -json` names its folder in the module cache) and `./weed` is built there.
# Takes about 10 minutes on 2 cores; one build at a time (flock), written under a temporary
# name and renamed, so a killed build never leaves a half-written binary in the cache.
ensure_seaweedfs() {
  local bin how
  bin="$(seaweedfs_bin)"
  [ -x "$bin" ] && return 0
  how="cd /tmp && go mod download $SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION && cd \"\$(go env GOMODCACHE)/$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION\" && GOFLAGS=-trimpath go build -o $bin ./weed"
  if ! command -v go >/dev/null 2>&1; then
    log "SeaweedFS is needed for the S3 tests and is built with Go; install Go, then run: $how"
    return 1
  fi
  mkdir -p "$(dirname "$bin")"
  (
    flock 9
    [ -x "$bin" ] && exit 0
    log "building SeaweedFS $SEAWEEDFS_VERSION (cached in $(dirname "$bin"); takes about 10 minutes once)"
    dir="$(cd /tmp && go mod download -json "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -n "$dir" ] && [ -d "$dir" ] || { log "could not download SeaweedFS; run: $how"; exit 1; }
    (cd "$dir" && GOFLAGS=-trimpath go build -o "$bin.partial" ./weed >&2) || { rm -f "$bin.partial"; log "could not build SeaweedFS; run: $how"; exit 1; }
    mv "$bin.partial" "$bin"
  ) 9>"$(dirname "$bin")/.build.lock"
}
