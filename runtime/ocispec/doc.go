// Package ocispec turns a container's configuration (runtime.Config) and its
// image's config into the OCI runtime config (config.json) that runc runs,
// with Docker's defaults: capabilities, masked and read-only paths, the
// default seccomp profile, /dev and its device rules, /dev/shm, /dev/mqueue,
// namespaces, cgroup resources, rlimits, sysctls, --init and the mounts of
// the generated /etc/hostname, /etc/hosts and /etc/resolv.conf. It also holds
// the pure helpers around that: the content of /etc/hosts and
// /etc/resolv.conf, and the parsers of --ulimit, --tmpfs, --security-opt and
// signal names.
//
// The package is pure. It writes nothing, runs nothing and reads the host
// only where a caller asks it to: Generate reads /etc/passwd and /etc/group
// through the fs.FS the caller passes (the container's root, opened with
// os.Root so that symlinks cannot escape it), a seccomp profile file through
// the ReadFile function the caller passes, and HostDevices and
// HostCapabilities read the host's /dev and this process's capability
// bounding set, for the caller to pass in Options. The default seccomp
// profile's filter depends on the running kernel's version
// (github.com/moby/profiles/seccomp reads uname).
//
// Errors about the user's input (an unknown user, a bad capability, a
// sysctl that is not namespaced, a malformed ulimit...) are
// errdefs.ErrInvalidArgument. docs/oci-spec.md lists every default and
// where it comes from.
package ocispec
