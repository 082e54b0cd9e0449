# syntax=docker/dockerfile:1
# One image for both apps: `node apps/api/dist/main.js` (the TAXII API),
# `node apps/operator/dist/main.js` (the operator) and `node apps/cli/dist/main.js` (taxiway, migrations).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY apps/api/package.json apps/api/
COPY apps/cli/package.json apps/cli/
COPY apps/operator/package.json apps/operator/
COPY libs/auth/package.json libs/auth/
COPY libs/config/package.json libs/config/
COPY libs/control/package.json libs/control/
COPY libs/domain/package.json libs/domain/
COPY libs/metrics/package.json libs/metrics/
COPY libs/store/package.json libs/store/
COPY libs/taxii1/package.json libs/taxii1/
COPY libs/testing/package.json libs/testing/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
RUN npx tsc -b tsconfig.build.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Only what runs: the built apps and libs, production dependencies, package manifests for workspaces.
COPY --from=build --chown=root:root /src/package.json ./
COPY --from=build --chown=root:root /src/node_modules node_modules
COPY --from=build --chown=root:root /src/apps apps
COPY --from=build --chown=root:root /src/libs libs
RUN find apps libs -name '*.ts' ! -name '*.d.ts' -delete && rm -rf apps/*/test libs/*/test \
 && groupadd --system --gid 10001 taxiway && useradd --system --uid 10001 --gid taxiway --no-create-home taxiway
USER 10001:10001
EXPOSE 8080 8081 9464
# The root filesystem can be read-only: nothing is written outside /tmp (and the PGlite data dir, unused with DATABASE_URL).
CMD ["node", "apps/api/dist/main.js"]
