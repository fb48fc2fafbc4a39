// Package overlay mounts and unmounts overlayfs trees: layers as lower
// directories, either read-only or under an upper directory that then holds
// a plain layer (redirect_dir and metacopy off, so that a diff of the upper
// directory means the same outside the mount), and ephemeral mounts
// (volatile: no syncs) for upper directories that are thrown away. It makes
// the mount calls only: callers create, own and remove the directories
// (MountEphemeral removes the kernel's volatile mark in the work directory,
// nothing else). Linux only.
package overlay
