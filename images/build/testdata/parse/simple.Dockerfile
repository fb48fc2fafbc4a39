# a comment
FROM busybox:1.36
ENV A=1 B="two words"
WORKDIR /app
COPY --chown=1000:1000 --chmod=0644 a.txt b* ./
RUN echo $A && \
    echo continued
CMD ["sh", "-c", "echo hi"]
ENTRYPOINT echo shell form
EXPOSE 80 443/udp
LABEL org.example.k=v other="x y"
USER app:app
VOLUME ["/data", "/logs"]
HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost || exit 1
STOPSIGNAL SIGINT
ONBUILD RUN echo triggered
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
