# The controller's image: Node 24, the compiled controller and its production dependencies, and
# nothing else — no npm, no shell, no package manager (distroless). It runs as the non-root user
# 65532, as the Go provider's image does, and writes nothing to its file system, so the Deployment
# may set readOnlyRootFilesystem: true. Health is the Deployment's probes (/healthz and /readyz on
# :8081); there is no HEALTHCHECK.
#
# hack/check-image.ts runs these stages' commands outside Docker, as written here, and starts the
# result as user 65532 (test/docs/image.test.ts); its output says what it could not check.

# 1. Build: every dependency, then the TypeScript compiler. No install scripts run: the dev
#    dependency `node` (Node 24 for npm scripts) and esbuild (tsx, vitest) need theirs only on a
#    developer's machine, and the compiler is started with the image's own Node.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# 2. Production dependencies only (fastify, pino, prom-client, undici, yaml: none has an install
#    script), from the same lock file.
FROM node:24-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

# 3. The image.
FROM gcr.io/distroless/nodejs24-debian12:nonroot AS image
WORKDIR /app
ENV NODE_ENV=production
COPY package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# --max-semi-space-size=16: a burst of allocations keeps ~100 MB less at no CPU cost
# (docs/design-notes.md, "Cost, measured"); the benches start the controller with the same flag.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "/app/dist/main.js"]
