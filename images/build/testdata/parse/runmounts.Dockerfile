FROM busybox
RUN --mount=type=cache,target=/var/cache/apk,id=apk --mount=type=bind,source=src,target=/src \
    --mount=type=tmpfs,target=/scratch --mount=type=secret,id=token,required=true --network=none \
    ls /src
ADD --chown=app https://example.invalid/file.tar.gz /opt/
ADD --link archive.tar /opt/
