package runc

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime/runc/monitor"
)

func TestLogsReadRotatedTailAndWindow(t *testing.T) {
	r := New(Options{Root: t.TempDir(), RunRoot: t.TempDir(), LogMaxSize: 200, LogMaxFiles: 3})
	id := strings.Repeat("a", 64)
	addRecord(t, r, id, "web")
	w, err := monitor.OpenLog(r.LogPath(id), 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 6 {
		stream := "stdout"
		if i%2 == 1 {
			stream = "stderr"
		}
		w.SetClock(func() time.Time { return base.Add(time.Duration(i) * time.Second) })
		if err := w.Write(stream, []byte("line "+string(rune('0'+i))+"\n")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	// 6 entries of ~80 bytes with 200-byte files: some rotated to .1 and .2;
	// with 3 files at most, the oldest ones may be gone.
	var out, errs bytes.Buffer
	if err := r.Logs(t.Context(), id, LogOptions{Tail: -1}, &out, &errs); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "line 4\n") || !strings.HasSuffix(errs.String(), "line 5\n") {
		t.Errorf("logs out=%q err=%q", out.String(), errs.String())
	}
	tests := []struct {
		name string
		o    LogOptions
		want string
	}{
		{"tail 2", LogOptions{Tail: 2}, "line 4\nline 5\n"},
		{"tail 0", LogOptions{Tail: 0}, ""},
		{"since", LogOptions{Tail: -1, Since: base.Add(4 * time.Second)}, "line 4\nline 5\n"},
		{"until", LogOptions{Tail: -1, Until: base.Add(4 * time.Second), Since: base.Add(3 * time.Second)}, "line 3\nline 4\n"},
		{"timestamps", LogOptions{Tail: 1, Timestamps: true}, "2026-01-02T03:04:10.000000000Z line 5\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var both bytes.Buffer
			if err := r.Logs(t.Context(), id, tc.o, &both, &both); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, both.String()); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
		})
	}
}
