# escape=`
FROM busybox
RUN echo a `
    && echo b
COPY a\b c\
