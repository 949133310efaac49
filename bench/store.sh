#!/usr/bin/env bash
# Store benchmark (issue: inspect). Fills a store with 100,000 realistic captures (the shared
# fixtures, varied) and times whole-process wall time, start-up included, of list, list
# --topic, list --search, show and stats with hyperfine. Run by hand: bench/store.sh
# (N=... for another size).
source "$(dirname "$0")/common.sh"
need
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
N=${N:-100000}
STORE="$WORK/store"
target/release/hookcli --store "$STORE" import tests/fixtures/intercom/zulip/ping.json > /dev/null
python3 bench/fill_store.py "$STORE" "$N" > /dev/null
target/release/hookcli --store "$STORE" vacuum   # builds the search index, as listen does when idle
count=$(captures "$STORE")
size=$(du -sh "$STORE" | cut -f1)
id=$(target/release/hookcli --store "$STORE" list -n 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"][:12])')
echo "store: $count captures, $size on disk"
H="target/release/hookcli --store $STORE"
hyperfine -N --warmup 3 --runs 30 --export-markdown "$WORK/store.md" \
    -n "list" "$H list" \
    -n "list --topic 'conversation.*'" "$H list --topic conversation.*" \
    -n "list --search rare.needle@example.org" "$H list --search rare.needle@example.org" \
    -n "list --search Dublin" "$H list --search Dublin" \
    -n "show ID" "$H show $id" \
    -n "show --last" "$H show --last" \
    -n "stats" "$H stats" > /dev/null
cat "$WORK/store.md"
