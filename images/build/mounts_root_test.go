package build

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// RUN --mount=type=bind,rw: the step sees its writes; neither the source
// (the context, a stage) nor the layer keeps them, as in BuildKit.
func TestBuildRunBindRW(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	df := "FROM " + base + ` AS src
RUN mkdir /tree && echo stage > /tree/s
FROM ` + base + `
RUN --mount=type=bind,source=data,target=/data,rw \
    --mount=type=bind,source=ctxfile,target=/f,rw \
    --mount=type=bind,from=src,source=/tree,target=/tree,rw \
    echo new > /data/new && echo changed > /data/x && rm /data/gone && echo more >> /f && echo w > /tree/s && \
    cat /data/new /data/x /f /tree/s > /seen && ls /data > /listing && stat -c %a /data >> /listing
RUN --mount=type=bind,from=src,source=/tree,target=/tree cat /tree/s > /stage-after
`
	dir := e.context(df, map[string]string{"data/x": "orig\n", "data/gone": "g\n", "ctxfile": "file\n"})
	if err := os.Chmod(filepath.Join(dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	id := e.mustBuild(Options{ContextDir: dir})
	out, _ := e.runIn(id, "cat /seen /listing /stage-after; for p in /data /f /tree; do test -e $p && echo left $p; done; echo end")
	want := "new\nchanged\nfile\nmore\nw\nnew\nx\n750\nstage\nend\n"
	if out != want {
		t.Errorf("in the image (-want +got):\n%s", cmp.Diff(want, out))
	}
	got := map[string]string{}
	for _, f := range []string{"data/x", "data/gone", "data/new", "ctxfile"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b = []byte("(missing)")
		}
		got[f] = string(b)
	}
	wantCtx := map[string]string{"data/x": "orig\n", "data/gone": "g\n", "data/new": "(missing)", "ctxfile": "file\n"}
	if d := cmp.Diff(wantCtx, got); d != "" {
		t.Errorf("the context changed (-want +got):\n%s", d)
	}
}
