FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci` refuses this lockfile (the npm that wrote it leaves out optional platform packages), as in .ci/run.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The embedded dev server (no TEMPORAL_ADDRESS) reads Temporal's dynamic config from here.
COPY deploy/temporal ./deploy/temporal
# The image has no .git: /version's build_commit comes from this build argument.
ARG FERRY_BUILD_COMMIT
RUN npm run build && npm prune --omit=dev
USER node
