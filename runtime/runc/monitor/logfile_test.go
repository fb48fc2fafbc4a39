package monitor

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A log line is byte for byte what json.Marshal of its Entry gives, as it
// was when entries were encoded with it.
func TestLogLineIsJSONMarshal(t *testing.T) {
	inputs := []string{
		"", "plain line\n", `quote " backslash \ slash /`, "<b>&amp;</b>", "tab\tcr\rnl\n",
		"\x00\x01\x1f\x7f", "é ü 日本 🐳", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", "\xe2\x80", "\xf0\x9f\x90",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			switch rng.IntN(3) {
			case 0:
				b[i] = byte(rng.IntN(256))
			case 1:
				const special = "<>&\"\\\n\xe2\x80\xa8"
				b[i] = special[rng.IntN(len(special))]
			default:
				b[i] = byte(' ' + rng.IntN(95))
			}
		}
		inputs = append(inputs, string(b))
	}
	at := time.Date(2026, 11, 28, 13, 4, 5, 60, time.UTC)
	w := &LogWriter{}
	for _, in := range inputs {
		want, err := json.Marshal(Entry{Log: in, Stream: "stderr", Time: at})
		if err != nil {
			t.Fatal(err)
		}
		got := appendEntry(w, []byte(in), "stderr", at)
		if !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("line for %q:\n got %s\nwant %s", in, got, want)
		}
	}
}

// appendEntry is the line entry writes, without the file.
func appendEntry(w *LogWriter, log []byte, stream string, t time.Time) []byte {
	f, err := os.CreateTemp("", "log")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w.f, w.size = f, 0
	if err := w.entry(log, stream, t); err != nil {
		panic(err)
	}
	return append([]byte(nil), w.line...)
}

// Logging allocates nothing once the writer's buffer has grown: a monitor
// that allocates nothing never collects.
func TestLogWriterAllocatesNothing(t *testing.T) {
	w, err := OpenLog(filepath.Join(t.TempDir(), "c-json.log"), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	chunk := []byte("GET /index.html <200> & done\nsecond line\tx\npartial")
	if n := testing.AllocsPerRun(100, func() { _ = w.Write("stdout", chunk) }); n != 0 {
		t.Errorf("Write allocates %v times a call; want 0", n)
	}
}
