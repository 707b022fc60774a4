#!/usr/bin/env bash
# Idempotent set-up for development, demo, tests and CI on Debian 12 (run as root).
#
#   - installs missing Debian packages (PostgreSQL, Redis, Docker Engine, debootstrap)
#   - creates .venv and installs the Python dependencies when pyproject.toml changed
#   - starts PostgreSQL, Redis and dockerd when they are not running
#   - creates the database role and database
#   - builds the sandbox image when it is missing or its inputs changed
#   - applies migrations
#   - builds the code editor bundle (npm ci + esbuild) when frontend/ changed
#
# A second run changes nothing and prints "ok" for every step.
# Environment: SANDBOX_BASE_IMAGE (default "local": debootstrap a Debian root filesystem),
# DB_NAME/DB_USER/DB_PASSWORD (default grader/grader/grader), GRADER_SKIP_IMAGE=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
VAR="$ROOT/var"
mkdir -p "$VAR/log"
DB_NAME="${DB_NAME:-grader}"
DB_USER="${DB_USER:-grader}"
DB_PASSWORD="${DB_PASSWORD:-grader}"
export DEBIAN_FRONTEND=noninteractive
START=$(date +%s%N)

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs Debian packages and starts dockerd)"

# --- Debian packages -------------------------------------------------------------------------
# python3-pytest: Debian's interpreter runs the bare-subprocess baseline of bench/sandbox.py
# chromium: the browser tests (Playwright drives Debian's /usr/bin/chromium; nothing is downloaded).
PACKAGES=(postgresql redis-server docker.io runsc crun debootstrap python3-venv python3-pytest make curl chromium docker-compose prometheus)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$VAR/log/apt.log" 2>&1 \
    || { tail -20 "$VAR/log/apt.log"; die "apt-get install failed (see var/log/apt.log)"; }
else
  say "Debian packages: ok"
fi
# Node.js and npm build the code editor; a machine that has them from elsewhere keeps its own.
if ! command -v npm >/dev/null 2>&1; then
  say "installing Debian package npm"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends npm >>"$VAR/log/apt.log" 2>&1 \
    || { tail -20 "$VAR/log/apt.log"; die "apt-get install npm failed (see var/log/apt.log)"; }
fi

# --- Python dependencies ---------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv .venv"
  python3 -m venv "$VENV"
fi
deps_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$VENV/.deps-hash" 2>/dev/null)" != "$deps_hash" ]; then
  say "installing Python dependencies into .venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[dev]" >"$VAR/log/pip.log" 2>&1 \
    || { tail -20 "$VAR/log/pip.log"; die "pip install failed (see var/log/pip.log)"; }
  echo "$deps_hash" >"$VENV/.deps-hash"
else
  say "Python dependencies: ok"
fi

# --- PostgreSQL ------------------------------------------------------------------------------
read -r PG_VERSION PG_CLUSTER PG_PORT PG_STATUS < <(pg_lsclusters -h | head -1 | awk '{print $1, $2, $3, $4}') \
  || die "no PostgreSQL cluster found (pg_lsclusters is empty)"
if [ "$PG_STATUS" != "online" ]; then
  say "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start
else
  say "PostgreSQL: ok"
fi
psql_admin() { runuser -u postgres -- psql -p "$PG_PORT" -qtAX -c "$1"; }
for _ in $(seq 50); do psql_admin "select 1" >/dev/null 2>&1 && break; sleep 0.2; done
if [ "$(psql_admin "select 1 from pg_roles where rolname='$DB_USER'")" != "1" ]; then
  say "creating database role $DB_USER"
  psql_admin "create role \"$DB_USER\" login createdb password '$DB_PASSWORD'"
else
  say "database role $DB_USER: ok"
fi
if [ "$(psql_admin "select 1 from pg_database where datname='$DB_NAME'")" != "1" ]; then
  say "creating database $DB_NAME"
  psql_admin "create database \"$DB_NAME\" owner \"$DB_USER\""
else
  say "database $DB_NAME: ok"
fi

# --- Redis -----------------------------------------------------------------------------------
if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "Redis: ok"
else
  say "starting Redis on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile "$VAR/log/redis.log"
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -h 127.0.0.1 ping >/dev/null || die "Redis did not start (see var/log/redis.log)"
fi

# --- Docker Engine ---------------------------------------------------------------------------
# Two runtimes besides runc, for SANDBOX_RUNTIME to select: crun (the same OCI container as runc,
# made by a C program instead of several Go start-ups: less CPU per submission, see
# bench/PROFILE.md) and gVisor's runsc (a user-space kernel in between; the sandbox has no
# network, and runsc refuses to start in the host's network namespace without --network=none).
python3 - <<'PY'
import json, os
path = "/etc/docker/daemon.json"
config = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
want = {
    "runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=none"]},
    "crun": {"path": "/usr/bin/crun"},
}
if any(config.get("runtimes", {}).get(name) != value for name, value in want.items()):
    config.setdefault("runtimes", {}).update(want)
    os.makedirs("/etc/docker", exist_ok=True)
    with open(path, "w") as handle:
        json.dump(config, handle, indent=2)
PY
# crun refuses a "hybrid" cgroup layout (v1 hierarchies, plus a cgroup2 one that still holds a
# controller, e.g. hugetlb here). Give each such controller a v1 hierarchy of its own, as the
# others have, so that the cgroup2 mount holds none (idempotent; nothing else changes).
UNIFIED=/sys/fs/cgroup/unified
if [ -f "$UNIFIED/cgroup.controllers" ] && mountpoint -q /sys/fs/cgroup/memory 2>/dev/null; then
  for controller in $(cat "$UNIFIED/cgroup.controllers"); do
    say "cgroup controller $controller: a v1 hierarchy of its own (for crun)"
    mkdir -p "/sys/fs/cgroup/$controller"
    mount -t cgroup -o "$controller" cgroup "/sys/fs/cgroup/$controller" || die "could not mount the $controller cgroup hierarchy"
  done
fi
if docker info >/dev/null 2>&1; then
  say "Docker Engine: ok"
else
  say "starting dockerd (no bridge, no iptables: containers get no network path at all)"
  setsid dockerd --bridge=none --iptables=false >"$VAR/log/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 "$VAR/log/dockerd.log"; die "dockerd did not start"; }
fi
runtimes_ok() { docker info --format '{{json .Runtimes}}' | grep -q '"runsc"' \
  && docker info --format '{{json .Runtimes}}' | grep -q '"crun"'; }
if runtimes_ok; then
  say "runtimes crun and gVisor (runsc): ok"
else
  say "registering the crun and gVisor (runsc) runtimes with dockerd"
  pkill -HUP -x dockerd  # dockerd reloads its runtimes on SIGHUP
  for _ in $(seq 50); do runtimes_ok && break; sleep 0.1; done
  runtimes_ok || die "dockerd did not pick up the crun and runsc runtimes"
fi

# --- sandbox image ---------------------------------------------------------------------------
if [ "${GRADER_SKIP_IMAGE:-0}" != 1 ]; then
  tag=$("$VENV/bin/python" -m sandbox.image tag)
  if docker image inspect "$tag" >/dev/null 2>&1; then
    say "sandbox image $tag: ok"
  else
    say "building sandbox image $tag (first time: debootstrap, about a minute)"
    "$VENV/bin/python" -m sandbox.image ensure >/dev/null 2>"$VAR/log/image.log" \
      || { tail -20 "$VAR/log/image.log"; die "sandbox image build failed (see var/log/image.log)"; }
  fi
fi

# --- database schema -------------------------------------------------------------------------
export DATABASE_URL="${DATABASE_URL:-postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME}"
if "$VENV/bin/python" manage.py migrate --check >/dev/null 2>&1; then
  say "migrations: ok"
else
  say "applying migrations"
  "$VENV/bin/python" manage.py migrate --noinput
fi
# The LTI tool's signing key (its JWKS): made once, kept across runs.
if "$VENV/bin/python" manage.py lti_ensure_key --check >/dev/null 2>&1; then
  say "LTI signing key: ok"
else
  say "creating the LTI signing key"
  "$VENV/bin/python" manage.py lti_ensure_key >/dev/null
fi

# --- front-end: the code editor (CodeMirror from the npm registry, bundled by esbuild) ---------
# static/build/ is generated, never committed; it is rebuilt when frontend/ changes.
fe_hash=$(cat frontend/package.json frontend/package-lock.json frontend/editor.js | sha256sum | cut -d' ' -f1)
if [ -f static/build/editor.js ] && [ "$(cat "$VAR/frontend.hash" 2>/dev/null)" = "$fe_hash" ]; then
  say "code editor bundle: ok"
else
  say "building the code editor (npm ci + esbuild)"
  ( cd frontend && npm ci --no-audit --no-fund && npm run build ) >"$VAR/log/npm.log" 2>&1 \
    || { tail -20 "$VAR/log/npm.log"; die "front-end build failed (see var/log/npm.log)"; }
  echo "$fe_hash" >"$VAR/frontend.hash"
fi

"$VENV/bin/python" manage.py collectstatic --noinput -v0

say "done in $(( ($(date +%s%N) - START) / 1000000 )) ms"
