# syntax=docker/dockerfile:1
# Bastion: multi-stage build. The runtime image has production dependencies only, runs as a
# non-root user, and checks its own liveness. Nothing is downloaded at start: migrations run
# through the WASM schema engine shipped in node_modules.
# Node.js 26.12.1, the newest version CI tests (.ci/node-versions) on the active LTS line, supported
# until April 2029. Both stages use the same tag: better-sqlite3 is built in the first stage for the
# second one's runtime ABI. Bump both with .ci/node-versions and package.json `engines`.
ARG NODE_IMAGE=node:26.12.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 builds from source (allowScripts in package.json).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# `prepare` applies patches/ (patch-package) before generating the Prisma clients.
COPY patches ./patches
COPY prisma ./prisma
COPY scripts ./scripts
COPY src ./src
# `prepare` generates both Prisma clients (offline).
RUN npm ci --no-audit --no-fund --strict-allow-scripts
COPY schema ./schema
COPY tsconfig.json tsconfig.build.json ./
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/schema ./schema
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains HTTP and WebSocket, then exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
