# One image for every program (bv-cloud, bv-edge, bv-sim); the compose file picks the command.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# patch-package (postinstall) applies these during npm ci.
COPY patches/ patches/
COPY proto/package.json proto/
COPY common/package.json common/
COPY devices/package.json devices/
COPY api/package.json api/
COPY edge/package.json edge/
COPY cloud/package.json cloud/
COPY firmware-sim/package.json firmware-sim/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
USER node
