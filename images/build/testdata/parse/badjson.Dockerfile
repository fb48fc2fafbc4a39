FROM busybox
HEALTHCHECK --interval=abc CMD true
