// Package cni is berth's network.Manager on the Container Network
// Interface: networks are records under <root>/networks/, each turned into
// a CNI configuration list (bridge or macvlan/ipvlan, host-local IPAM,
// portmap for containers that publish ports) run through
// containernetworking/cni's libcni with the standard plugins.
//
// It owns: network records and their subnet allocation (Allocate, from
// Docker's default pools, clear of the host's routes); the host side of a
// network set up once per network (its bridge, masquerade and forwarding
// rules in berth's own iptables chains); attaching and detaching a
// container's namespace (Attach, Detach) with published ports; and
// Cleanup of what crashed or vanished containers left. Attachment records,
// leases and libcni's cache live under <run-root>/cni/, so a reboot, which
// ends every container, forgets them too.
//
// It must not create or remove namespaces (network/netns does) nor start
// containers (the runtime does, between Attach and Detach). Generation of
// conflists and rules, subnet allocation and port parsing are pure and
// tested without root; the host is reached through the Host interface.
package cni
