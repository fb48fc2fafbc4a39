# syntax=docker/dockerfile:1
FROM busybox
RUN <<EOF
echo one
echo two
EOF
RUN <<-SCRIPT
	#!/bin/sh
	echo from a script
	SCRIPT
COPY <<EOT /etc/motd
hello $USER
EOT
