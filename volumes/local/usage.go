package local

// DiskUsage is the bytes the volume's data takes on disk, each inode once,
// as Docker's `system df` and prune count them. It walks the data
// directory on every call; unreadable files count as nothing.
func (r Record) DiskUsage() uint64 { return diskUsage(r.Mountpoint) }
