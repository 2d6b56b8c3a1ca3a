#!/usr/bin/env bash
# Runs the whole test suite and the package smoke test against Nest 11, in a throwaway copy of
# the checkout, so the lockfile (Nest 12) and the developer's node_modules stay untouched.
#
#   scripts/test-nest11.sh            # copy, npm ci, swap @nestjs/* to 11, npm test, test:package
#   KEEP=1 scripts/test-nest11.sh     # keep the copy for a look afterwards (its path is printed)
#
# Needs the npm registry (npm ci, npm view, npm install). MYSQL_URL is honoured as in `npm test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nmc-nest11-XXXXXX")"
cleanup() {
  if [[ "${KEEP:-}" == 1 ]]; then echo "[nest11] kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

START=$SECONDS
step() {
  local name="$1"
  shift
  local t0=$SECONDS
  echo "[nest11] $name"
  "$@"
  echo "[nest11] $name: done in $((SECONDS - t0)) s"
}

# The working tree as it is (uncommitted and untracked files included), minus what npm and the
# build recreate.
copy() {
  tar -C "$ROOT" --exclude=./.git --exclude=node_modules --exclude=./dist --exclude=./coverage \
    --exclude=./.tmp -cf - . | tar -C "$WORK" -xf -
}

# Every @nestjs/* devDependency moves to its 11 line: mixing majors makes npm refuse the peers
# (terminus 12, typeorm 12 and platform-fastify 12 want @nestjs/common 12). One with no 11 line is
# dropped from the copy's manifest, and the suite shows whether it was needed.
# Packages whose majors do not follow Nest's name the line that supports Nest 11 here.
declare -A NEST11_LINE=([@nestjs/graphql]=13 [@nestjs/apollo]=13 [@nestjs/mercurius]=13)
swap_to_nest11() {
  local specs=() pkg line
  for pkg in $(node -p "Object.keys(require('./package.json').devDependencies ?? {})
      .filter((d) => d.startsWith('@nestjs/')).join(' ')"); do
    line="${NEST11_LINE[$pkg]:-11}"
    if [[ -n "$(npm view "$pkg@^$line" version 2>/dev/null)" ]]; then
      specs+=("$pkg@^$line")
    else
      echo "[nest11] $pkg has no 11 line: removed from the copy"
      node -e "const fs = require('node:fs'); const p = JSON.parse(fs.readFileSync('package.json', 'utf8'));
        delete p.devDependencies['$pkg']; fs.writeFileSync('package.json', JSON.stringify(p, null, 2));"
    fi
  done
  npm install --no-save --no-audit --no-fund "${specs[@]}"
  # Fail here, not in a confusing test, if npm kept a 12 of a swapped package at the top level.
  node -e "
    const fs = require('node:fs');
    const wrong = process.argv.slice(1).flatMap((spec) => {
      const [, name, line] = /^(.+)@\\^(\\d+)$/.exec(spec);
      const { version } = JSON.parse(fs.readFileSync('node_modules/' + name + '/package.json', 'utf8'));
      console.log('[nest11]   ' + name + ' ' + version);
      return version.startsWith(line + '.') ? [] : [name + '@' + version];
    });
    if (wrong.length) { console.error('[nest11] not on Nest 11: ' + wrong.join(', ')); process.exit(1); }" \
    "${specs[@]}"
}

echo "[nest11] copy of $ROOT in $WORK"
step 'copy' copy
cd "$WORK"
step 'npm ci' npm ci --no-audit --no-fund
step 'swap @nestjs/* to 11' swap_to_nest11
step 'npm test' npm test
step 'npm run test:package' npm run test:package
echo "[nest11] all passed against Nest 11 in $((SECONDS - START)) s"
