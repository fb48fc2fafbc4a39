package images

import "path/filepath"

// contentLockPath is the store's content lock, a flock(2) that writers
// hold shared while they add blobs and layers and garbage collection holds
// exclusive while it deletes them: so collection never deletes what an
// unfinished import, commit or pull has written but not yet named in the
// index.
func (s *Store) contentLockPath() string { return filepath.Join(s.dir, "content.lock") }
