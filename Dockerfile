# syntax=docker/dockerfile:1
# Build stage: full install, compile TypeScript (and the demo page) to dist/.
# Node 24, the active LTS (the code also runs on Node 20.19+ and 22, as CI shows for 20).
FROM node:24-bookworm-slim AS build
WORKDIR /app
# The client workspace's manifest is part of the lockfile's tree, so npm ci needs it too.
COPY package.json package-lock.json ./
COPY client/package.json ./client/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime stage: production dependencies and compiled JavaScript only, as the unprivileged `node` user.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY client/package.json ./client/
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data/exports && chown -R node:node /app/data
USER node
EXPOSE 8000
# The same image runs the hub (default), the worker and the one-shot migration.
CMD ["node", "dist/src/server.js"]
