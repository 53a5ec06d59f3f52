#!/usr/bin/env bash
# Builds the example game of docs/integrating.md as a game author's own
# repository would: a crate outside this workspace, Bevy with its default
# features, the plugin by path. Keeps the guide's lines true. The crate
# lives in a temp dir (removed on exit); it shares the cargo target dir.
#
#   scripts/check-outside-game.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/src"
cat >"$dir/Cargo.toml" <<TOML
[package]
name = "outside-game"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
bevy = "0.19.1"
bevy_livestream = { path = "$repo/plugin" }

# Not part of any workspace around the temp dir.
[workspace]
TOML
# The guide's first Rust block is the game's whole main.rs.
awk '/^```rust/ { inside = 1; next } /^```/ { if (inside) exit } inside' \
  "$repo/docs/integrating.md" >"$dir/src/main.rs"
[[ -s $dir/src/main.rs ]] || { echo "no Rust block in docs/integrating.md" >&2; exit 1; }
# The workspace's versions wherever the two overlap.
cp "$repo/Cargo.lock" "$dir/"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo check --quiet --manifest-path "$dir/Cargo.toml"
echo "outside game: docs/integrating.md's example builds with Bevy's default features"
