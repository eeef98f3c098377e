# syntax=docker/dockerfile:1
# callrec container image: a build stage compiles the TypeScript and the sqlite3
# native module; the runtime stage holds Node 24, ffmpeg, the compiled service
# and production dependencies only, and runs as an unprivileged user.
#
#   docker build -t callrec .
#   docker compose --env-file deploy/callrec.env up -d      (see deploy/README.md)

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Toolchain for node-gyp: sqlite3 is compiled here when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund \
 && node -e "require('sqlite3')"
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build ./scripts/build
COPY src ./src
# Compile src/ to dist/ (imports already use .js) with the non-TypeScript assets
# (web UI pages, styles, browser modules) beside them, then drop dev dependencies.
RUN bash scripts/build dist \
 && npm prune --omit=dev --no-audit --no-fund \
 && node -e "require('sqlite3')"

# ---- runtime -------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 callrec \
 && useradd --system --uid 10001 --gid callrec --home-dir /data --no-create-home --shell /usr/sbin/nologin callrec \
 && mkdir -p /data && chown callrec:callrec /data && chmod 0750 /data \
 && printf '#!/bin/sh\nexec node /app/dist/cli/main.js "$@"\n' > /usr/local/bin/callrec \
 && chmod 0755 /usr/local/bin/callrec
WORKDIR /app
ENV NODE_ENV=production \
    CALLREC_HOST=0.0.0.0 \
    CALLREC_PORT=3000 \
    CALLREC_DATA_DIR=/data
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER callrec:callrec
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CALLREC_PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini reaps ffmpeg children and forwards SIGTERM; callrec then drains in-flight requests.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
