FROM busybox
COPY --exclude=*.tmp . /app
