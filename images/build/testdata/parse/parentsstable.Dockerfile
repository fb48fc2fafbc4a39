FROM scratch
COPY --parents x/a.txt /dst/
