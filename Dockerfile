# NanoMQ in a container: the broker (the default command) and the harness (`run <scenario>`).
#
#   docker build -t nanomq .
#   docker run --rm -e NANOMQ_TOKEN=change-me -p 7480:7480 nanomq          # the broker
#   docker run --rm -v "$PWD/out:/app/results" --user "$(id -u)" nanomq run scenarios/quick.yaml
#
# Two stages: the first has the toolchain (python3, make, g++ for the native addon, the dev
# dependencies for TypeScript) and builds; the second is the base image with only what runs.
# BASE is any Debian-based image with Node 20 and npm (default: the official slim image); CI
# builds on a local Debian base with Node from npm, where no registry is reachable.
# The npm registry may sit behind a TLS proxy: give its CA bundle as the build secret `npm_ca`
# (docker build --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt ...).
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# npm ci builds the native addon (install script) and the TypeScript (prepare); then the dev
# dependencies go. The addon is optional: without it, `native` is listed unavailable.
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
 && npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p build/Release

FROM ${BASE}
ENV NODE_ENV=production \
    NANOMQ_PORT=7480
WORKDIR /app
# A user of its own: nothing in the container runs as root.
RUN groupadd --system nanomq && useradd --system --gid nanomq --home-dir /app --no-create-home nanomq \
 && mkdir -p /app/results /app/reports && chown nanomq:nanomq /app/results /app/reports
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release ./build/Release
COPY --from=build /src/scenarios ./scenarios
USER nanomq
EXPOSE 7480
# The broker answering its protocol, with the token, on its port (broker/healthcheck.ts).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["node", "dist/broker/healthcheck.js"]
# Node as PID 1 gets no default SIGTERM handling; both commands handle it themselves: `broker`
# forwards it to its broker process (broker/launcher.ts), which shuts down gracefully, `run` writes what ran and exits 143.
ENTRYPOINT ["node", "dist/harness/cli/main.js"]
# Inside a container the broker listens on every interface, so the broker's own rule applies:
# it refuses to start without a token (NANOMQ_TOKEN).
CMD ["broker", "--listen", "0.0.0.0", "--port", "7480"]
