ARG BASE=busybox
ARG VERSION
FROM ${BASE}:${VERSION:-latest} AS builder
ARG VERSION
RUN echo building $VERSION > /out
FROM scratch AS unused
COPY nothing /
FROM --platform=$BUILDPLATFORM busybox AS final
COPY --from=builder /out /out
COPY --from=0 /out /out2
