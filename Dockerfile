# syntax=docker/dockerfile:1
# One base for every stage, so native modules built in `deps` match the runtime ABI and libc.
ARG NODE_IMAGE=node:26-bookworm-slim

# ---- build: full install (Nest CLI, TypeScript) and compile to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY libs ./libs
COPY migrations ./migrations
RUN npm run build

# ---- deps: production node_modules only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Toolchain for native addons (node-gyp, e.g. bcrypt); it lives only in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# npm ci honours package.json "overrides" against the lockfile; scripts stay on for native builds.
# TypeScript, ts-node and SWC come in as optional peers of @nestjs/swagger and typeorm (the build's
# tools, present in the lockfile); the built code needs none of them (~35 MB).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && rm -rf node_modules/typescript node_modules/ts-node node_modules/@swc

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production PORT=3000 DATA_DIR=/app/data
# Code stays root-owned (read-only to the app); only the data dir is writable by `node` (uid 1000).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# The slim image has no curl; node's built-in fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The app drains on SIGTERM itself (SHUTDOWN_GRACE_SECONDS), so node can run as PID 1 without npm.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
