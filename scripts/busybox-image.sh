#!/usr/bin/env bash
# Writes a busybox root filesystem tar to stdout, made offline from Debian's
# busybox-static: the binary, a symlink per applet, /etc/passwd and /etc/group.
# Used as: scripts/busybox-image.sh | berth import - localhost/busybox:latest
set -euo pipefail
bb=/bin/busybox
file -L "$bb" 2>/dev/null | grep -q 'statically linked' || {
	echo "busybox-image: $bb is not a static busybox (apt-get install busybox-static)" >&2
	exit 1
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/bin "$dir"/etc "$dir"/tmp "$dir"/root "$dir"/var/www
chmod 1777 "$dir"/tmp
cp "$bb" "$dir"/bin/busybox
for applet in $("$bb" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir"/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir"/etc/group
tar -C "$dir" -cf - .
