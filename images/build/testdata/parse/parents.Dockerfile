# syntax=docker/dockerfile:1-labs
FROM scratch
COPY --parents ./x/./y/*.txt /dst/
COPY --parents=false a /b/
