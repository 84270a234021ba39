#!/usr/bin/env bash
# The broker's power-cut test on LazyFS (github.com/dsrhaslab/lazyfs), the FUSE file system
# Jepsen uses: the log lives on a LazyFS mount, and after each SIGKILL the mount drops every
# write not yet fsynced (lazyfs::clear-cache), as a power cut would. Every acknowledged message
# must still reach the consumer group. CI cannot build LazyFS (no source host is reachable from
# it), so CI runs the project's own simulated disk (test/support/power-cut-files.ts); this is
# the reference run it is checked against. Building LazyFS here: ../shared/PLATFORM.md.
#
#   LAZYFS=/path/to/lazyfs/build/lazyfs [CUTS=50] bash scripts/lazyfs-power-cut.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LAZYFS:?set LAZYFS to the lazyfs binary (see ../shared/PLATFORM.md for building it)}"
[ -x "$LAZYFS" ] || { echo "LAZYFS=$LAZYFS: not an executable" >&2; exit 2; }
work=$(mktemp -d)
mkdir -p "$work/root" "$work/mnt"
cat > "$work/lazyfs.toml" <<TOML
[faults]
fifo_path="$work/faults.fifo"
[cache]
apply_eviction=false
[cache.simple]
custom_size="512mb"
blocks_per_page=1
[filesystem]
log_all_operations=false
logfile=""
TOML
"$LAZYFS" "$work/mnt" --config-path "$work/lazyfs.toml" -o allow_other -o modules=subdir -o subdir="$work/root" -f > "$work/lazyfs.log" 2>&1 &
lazyfs=$!
cleanup() {
  fusermount3 -u "$work/mnt" 2>/dev/null || umount "$work/mnt" 2>/dev/null || true
  kill "$lazyfs" 2>/dev/null || true
  wait "$lazyfs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# LazyFS pre-allocates its cache before it mounts: wait for the mount, not for the process.
for _ in $(seq 1 300); do grep -q " $work/mnt fuse" /proc/mounts && break; sleep 0.1; done
grep -q " $work/mnt fuse" /proc/mounts || { echo "LazyFS did not mount (log: $(tail -3 "$work/lazyfs.log"))" >&2; exit 1; }
BROKER_CRASH_KILLS="${CUTS:-50}" BROKER_CRASH_DIR="$work/mnt" BROKER_CRASH_POWER_CUT="echo lazyfs::clear-cache > '$work/faults.fifo'; sleep 0.2" \
  node scripts/broker-crash-test.mjs
