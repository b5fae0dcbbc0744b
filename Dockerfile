# Loom: one image for both programs (`loom operator …`, `loom agent …`; also `loom release`,
# `loom status`). Built by scripts/build-image.sh. The DaemonSet gives the agent what it needs
# (root, capabilities, host mounts); by default the image runs as a non-root user.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: production dependencies (they become the runtime's), the compiler beside them -----
FROM ${NODE_IMAGE} AS build
# A C++ toolchain and MIT Kerberos' headers for the optional `kerberos` module (SPNEGO).
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 libkrb5-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# No install scripts but one: `kerberos` is compiled from source against this stage's MIT Kerberos
# and Node's own headers (no prebuilt download), proven to load, and only its binary is kept.
# The npm cache is used when there is one.
RUN npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund \
 && npm_config_build_from_source=true npm_config_nodedir=/usr/local npm rebuild kerberos --no-audit --no-fund \
 && node -e "require('kerberos')" \
 && mv node_modules/kerberos/build/Release/kerberos.node /tmp/kerberos.node \
 && rm -rf node_modules/kerberos/build && mkdir -p node_modules/kerberos/build/Release \
 && mv /tmp/kerberos.node node_modules/kerberos/build/Release/kerberos.node
# TypeScript and Node's types at the versions package-lock.json pins, outside the runtime's node_modules.
RUN npm install --prefix /tools --no-save --ignore-scripts --prefer-offline --no-audit --no-fund \
      $(node -p "const l = require('./package-lock.json').packages; ['typescript', '@types/node'].map((p) => p + '@' + l['node_modules/' + p].version).join(' ')")
COPY . .
RUN node /tools/node_modules/typescript/bin/tsc -p tsconfig.build.json --sourceMap false --typeRoots /tools/node_modules/@types \
 && node scripts/image-entrypoint.mjs loom-entrypoint

# ---- runtime: node, the compiled program, its production dependencies -------------------------
FROM ${NODE_IMAGE}
ARG VERSION=0.0.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="loom" \
      org.opencontainers.image.description="Loom: hybrid YARN–Kubernetes co-location (operator and node agent)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
# The GSS-API library the kerberos module loads (MIT Kerberos' runtime; no compiler, no headers).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgssapi-krb5-2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/loom
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/loom-entrypoint /usr/local/bin/loom
USER 65532:65532
ENTRYPOINT ["loom"]
CMD ["--help"]
