#!/usr/bin/env bash
# Installs the real servers the real-LiveKit test tier and the demo run, pinned, from the Go module
# proxy and Debian's packages only (nothing is downloaded from anywhere else):
#   livekit-server  github.com/livekit/livekit-server   (pure Go)
#   livekit-sip     github.com/livekit/sip               (cgo: Opus, Opusfile, SoX resampler)
#   versitygw       github.com/versity/versitygw         (S3 API with versioning and Object Lock)
#   egress-standin  dev/real-livekit/egress-standin      (ours, cgo: Opus; an audio-only stand-in for
#                                                          LiveKit Egress, which cannot be built here)
#   sipp            Debian's sip-tester                  (the phone livekit-sip calls)
# Binaries go to .cache/real-livekit/bin (gitignored), each with a stamp of the version it was built
# from (for egress-standin, a hash of its go.mod, go.sum and Go files); a binary whose stamp matches is
# kept. Idempotent: a second run changes nothing.
#
# Usage: dev/real-livekit/install.sh [--check]   (--check only reports what is missing; exit 1 if any)
set -euo pipefail
cd "$(dirname "$0")/../.."

# Pins. livekit-sip: the Go module proxy serves github.com/livekit/sip up to v1.8.0 (v1.9.0 and later
# answer 403 "This module version is not available"), so v1.8.0 is the newest that can be built here.
LIVEKIT_SERVER_VERSION=v1.13.5
LIVEKIT_SIP_VERSION=v1.8.0
VERSITYGW_VERSION=v1.7.0
# egress-standin's own go.mod pins github.com/livekit/protocol and github.com/livekit/psrpc to the
# versions livekit-server $LIVEKIT_SERVER_VERSION requires (its internal egress RPC must match), the
# server-sdk-go revision livekit-sip uses and the aws-sdk-go-v2 versitygw uses: with the three servers
# built, the Go module cache already holds nearly all of it.
EGRESS_STANDIN_SRC=dev/real-livekit/egress-standin

CACHE="${FACESIGN_REAL_LIVEKIT_CACHE:-$PWD/.cache/real-livekit}"
BIN="$CACHE/bin"
say() { printf '[real-livekit] %s\n' "$*"; }

check_only=false
[ "${1:-}" = "--check" ] && check_only=true

# name | package to build | module | version | cgo
TOOLS=(
  "livekit-server|github.com/livekit/livekit-server/cmd/server|github.com/livekit/livekit-server|$LIVEKIT_SERVER_VERSION|0"
  "livekit-sip|github.com/livekit/sip/cmd/livekit-sip|github.com/livekit/sip|$LIVEKIT_SIP_VERSION|1"
  "versitygw|github.com/versity/versitygw/cmd/versitygw|github.com/versity/versitygw|$VERSITYGW_VERSION|0"
)
DEBIAN_PACKAGES=(sip-tester libopus-dev libopusfile-dev libsoxr-dev pkg-config gcc redis-server)

missing_packages() {
  local pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$pkg"
  done
}

stamp_of() { cat "$BIN/$1.version" 2>/dev/null || true; }
standin_stamp() {
  printf 'egress-standin@%s\n' "$(cat "$EGRESS_STANDIN_SRC/go.mod" "$EGRESS_STANDIN_SRC/go.sum" "$EGRESS_STANDIN_SRC"/*.go | sha256sum | cut -c1-16)"
}

if $check_only; then
  problems=0
  for pkg in $(missing_packages); do say "missing Debian package: $pkg"; problems=1; done
  for tool in "${TOOLS[@]}"; do
    IFS='|' read -r name _ module version _ <<<"$tool"
    if [ ! -x "$BIN/$name" ] || [ "$(stamp_of "$name")" != "$module@$version" ]; then
      say "missing: $name $version (run dev/real-livekit/install.sh)"; problems=1
    fi
  done
  if [ ! -x "$BIN/egress-standin" ] || [ "$(stamp_of egress-standin)" != "$(standin_stamp)" ]; then
    say "missing: egress-standin built from the current $EGRESS_STANDIN_SRC (run dev/real-livekit/install.sh)"; problems=1
  fi
  exit "$problems"
fi

mapfile -t need < <(missing_packages)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "these Debian packages are needed: ${need[*]} (run as root, or apt-get install them)"; exit 1
  fi
  say "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || { say "Go is not installed (Go 1.26 or later builds the servers)"; exit 1; }

mkdir -p "$BIN"
for tool in "${TOOLS[@]}"; do
  IFS='|' read -r name package module version cgo <<<"$tool"
  if [ -x "$BIN/$name" ] && [ "$(stamp_of "$name")" = "$module@$version" ]; then
    say "$name $version: already built"
    continue
  fi
  # A throwaway module that requires the pinned version and builds its command. (`go install pkg@v`
  # would do, but it asks the proxy for the module's version list, which it does not serve for every
  # module here.)
  work="$CACHE/build/$name"
  rm -rf "$work"
  mkdir -p "$work"
  cat >"$work/go.mod" <<EOF
module facesign.local/build/$name

go 1.26

require $module $version
EOF
  cat >"$work/tools.go" <<EOF
//go:build tools

package tools

import _ "$package"
EOF
  say "building $name $version from $package (go $(go env GOVERSION), cgo=$cgo)"
  started=$(date +%s)
  (
    cd "$work"
    export GOFLAGS=-mod=mod CGO_ENABLED="$cgo" GOTOOLCHAIN=local
    go mod tidy
    go build -trimpath -o "$BIN/$name.tmp" "$package"
  )
  mv "$BIN/$name.tmp" "$BIN/$name"
  printf '%s@%s\n' "$module" "$version" >"$BIN/$name.version"
  say "$name $version: built in $(( $(date +%s) - started )) s"
done

# Our own source, built in place against its committed go.mod/go.sum; rebuilt when any of them changes.
stamp=$(standin_stamp)
if [ -x "$BIN/egress-standin" ] && [ "$(stamp_of egress-standin)" = "$stamp" ]; then
  say "egress-standin ${stamp#*@}: already built"
else
  say "building egress-standin ${stamp#*@} from $EGRESS_STANDIN_SRC (go $(go env GOVERSION), cgo=1)"
  started=$(date +%s)
  (
    cd "$EGRESS_STANDIN_SRC"
    export GOFLAGS=-mod=readonly CGO_ENABLED=1 GOTOOLCHAIN=local
    go build -trimpath -o "$BIN/egress-standin.tmp" .
  )
  mv "$BIN/egress-standin.tmp" "$BIN/egress-standin"
  printf '%s\n' "$stamp" >"$BIN/egress-standin.version"
  say "egress-standin: built in $(( $(date +%s) - started )) s"
fi

say "ready in $BIN: livekit-server $LIVEKIT_SERVER_VERSION, livekit-sip $LIVEKIT_SIP_VERSION, versitygw $VERSITYGW_VERSION, egress-standin ${stamp#*@}, $(sipp -v 2>/dev/null | grep -o 'SIPp v[0-9.]*' | head -n1)"
