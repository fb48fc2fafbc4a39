# syntax=docker/dockerfile:1.7-labs
FROM busybox
COPY --exclude=*.tmp --exclude=cache/ . /app
ADD --exclude=*.md docs/ /docs/
