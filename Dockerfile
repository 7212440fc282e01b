# scratchscope as an image, as dive ships one:
#   docker build -t scratchscope .
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock scratchscope inspect NAME
#   docker run --rm -v "$PWD:/data" scratchscope inspect /data/app.tar
# BASE is any image with node >= 20, npm and /tmp (default: the official Node image). No
# shell is needed: every RUN is in exec form.
ARG BASE=node:22-bookworm-slim

FROM ${BASE} AS build
# a registry mirror, and the CA of a TLS-inspecting proxy (a file in BASE), if the build needs them
ARG npm_config_registry
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
COPY src ./src
RUN ["node", "node_modules/typescript/bin/tsc", "-p", "."]
RUN ["npm", "prune", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"]

FROM ${BASE}
COPY --from=build /src/package.json /opt/scratchscope/package.json
COPY --from=build /src/node_modules /opt/scratchscope/node_modules
COPY --from=build /src/dist /opt/scratchscope/dist
COPY bin /opt/scratchscope/bin
WORKDIR /data
ENTRYPOINT ["node", "/opt/scratchscope/bin/scratchscope.js"]
