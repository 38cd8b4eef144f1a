# capflow in a container image:
#   docker build -t capflow .
#   docker run --rm -v "$PWD:/captures" capflow run in/*.pcap --out-dir out
# The native AF_PACKET addon (replay --to iface:) is not built here: batch conversion needs no
# interface, and the image stays free of a compiler.
FROM node:20-bookworm-slim AS build
WORKDIR /opt/capflow
COPY package.json package-lock.json tsconfig.json ./
COPY cli cli
COPY pipeline pipeline
COPY stages stages
# The build trains the binary's code caches on two of the samples (cli/bundle.mjs).
COPY samples samples
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
WORKDIR /opt/capflow
COPY --from=build /opt/capflow/package.json ./
COPY --from=build /opt/capflow/node_modules node_modules
COPY --from=build /opt/capflow/dist dist
RUN ln -s /opt/capflow/dist/cli/main.js /usr/local/bin/capflow
USER node
WORKDIR /captures
ENTRYPOINT ["capflow"]
CMD ["--help"]
