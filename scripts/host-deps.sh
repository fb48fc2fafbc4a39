#!/usr/bin/env bash
# Installs the host packages berth's real runtime and tests need, from the
# distribution, only when something is missing: runc, the CNI plugins,
# iptables, a static busybox (the offline test image) and the distribution
# registry with htpasswd (registry tests). Debian/Ubuntu, root.
set -euo pipefail

missing=()
command -v runc >/dev/null 2>&1 || missing+=(runc)
[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
if ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
	missing+=(busybox-static)
fi
command -v file >/dev/null 2>&1 || missing+=(file)
# The distribution registry (htpasswd auth behind TLS) for the registry tests.
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "berth: missing ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
