# syntax=docker/dockerfile:1
# facesign's image: the compiled server and console, production dependencies only, run by a non-root
# user under tini. One image serves every role:
#   docker run IMAGE                  the server (FACESIGN_ROLES=api,worker by default)
#   docker run IMAGE migrate          migrations and the application's login role (run first)
# See docs/deploy.md. Pin NODE_IMAGE by digest in your registry mirror (docs/deploy.md, "Base image").
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The lockfile and what the build reads come first, so the dependency layer is
# reused until one of them changes.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# tini: PID 1 that forwards SIGTERM to node and reaps zombies. The CJK font: evidence PDFs embed it
# (EVIDENCE_PDF_FONT's default path). espeak-ng: automated calls' local text to speech (Mandarin, English).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini fonts-wqy-microhei espeak-ng \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped: the Prisma client was generated and compiled into dist/ by the build stage,
# with the migrations and the schema engine the migrate command uses.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --chmod=0755 deploy/docker/facesign.sh /usr/local/bin/facesign
# The node user of the official image (uid 1000); nothing under /app is writable by it.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/facesign"]
CMD ["serve"]
