package images

import "context"

// Size is the size of the image ref names as `berth images` shows it: the
// unpacked sizes of its layers, summed (Image.Size). Unlike Image it only
// reads the store's records and never unpacks a missing layer again, so a
// listing such as ps -s changes nothing on disk. The error is classified
// errdefs.ErrNotFound when there is no such image.
func (s *Store) Size(ctx context.Context, ref string) (int64, error) {
	im, err := s.lookupFilled(ref)
	if err != nil {
		return 0, err
	}
	return im.Size, nil
}
