#!/usr/bin/env bash
# Byte-identity check for refactors: build the example bank (with its assessment forms) and
# tests/banks/all-types, zipped and --unzipped, with the code at BASE and with the working tree,
# each installed as a wheel (`pip install .`) into its own throw-away venv, and compare every file.
#
#   bash scripts/compare-builds.sh [BASE]     # BASE: a git revision, default main
#
# Prints one sha256 line per output file that differs (or "identical: N files") and exits 1 on any
# difference.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
base="${1:-main}"
tmp="$(mktemp -d)"
trap 'git worktree remove --force "$tmp/base-src" 2>/dev/null || true; rm -rf "$tmp"' EXIT

git worktree add -q --detach "$tmp/base-src" "$base"
# The bank content is the working tree's in both runs: only the code differs.
build_all() {  # $1: venv, $2: out dir
  local py="$1/bin/itembank" out="$2"
  "$py" build -o "$out/items" --bank items >/dev/null
  "$py" build -o "$out/items-unzipped" --bank items --unzipped >/dev/null
  "$py" build -o "$out/all-types" --bank tests/banks/all-types >/dev/null
  "$py" build -o "$out/all-types-unzipped" --bank tests/banks/all-types --unzipped >/dev/null
}
for side in base head; do
  src="$PWD"; [ "$side" = base ] && src="$tmp/base-src"
  python3 -m venv "$tmp/venv-$side"
  "$tmp/venv-$side/bin/pip" install -q "$src" >/dev/null 2>&1
  build_all "$tmp/venv-$side" "$tmp/out-$side"
  (cd "$tmp/out-$side" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$tmp/$side.sha256"
done
if diff "$tmp/base.sha256" "$tmp/head.sha256"; then
  echo "identical: $(wc -l < "$tmp/head.sha256") files ($base vs working tree)"
else
  echo "DIFFERENT outputs ($base vs working tree)" >&2
  exit 1
fi
