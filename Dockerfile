# The farmflow app image: one image, two processes (docker-compose.yml runs bot/main.ts as `bot`
# and worker/main.ts as `worker`). tsx is a production dependency, so the TypeScript sources run
# as they are; only the workflow bundle is built ahead of time, because bundling at worker start
# costs seconds and memory on every replica.
#
#   docker build -t farmflow-app .
#   docker run --rm farmflow-app node --import tsx worker/main.ts

# Debian (glibc) rather than Alpine: the Temporal SDK's native core bridge is built for glibc.
ARG NODE_IMAGE=node:22.22.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# Writes dist/workflow-bundle.js, which the workers load instead of bundling at start.
RUN npm run build:workflows

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
# The shipped sources (bot/, worker/, workflows/, activities/, game/, infra/, store/, schedules/) as
# .dockerignore filters them: whole context rather than a folder list, so a new top-level folder
# cannot be left out of the image by accident; dev/ (the local harness) and test/ never go in.
COPY . .
COPY --from=build /app/dist ./dist
# Code and dependencies stay owned by root (read-only to the app); only DATA_DIR and
# SHARED_FILES_DIR (docker-compose.yml mounts a volume there, which takes this owner) are writable.
RUN mkdir -p /app/data /app/shared && chown node:node /app/data /app/shared
USER node
EXPOSE 3000
# `node --import tsx` rather than `npm run`/`tsx`: node is then the process that receives
# SIGTERM from `docker stop` and shuts down gracefully, with no wrapper in between.
CMD ["node", "--import", "tsx", "bot/main.ts"]
