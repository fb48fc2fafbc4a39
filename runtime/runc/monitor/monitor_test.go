package monitor

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLogWriterLinesAndRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c-json.log")
	w, err := OpenLog(path, 150, 3)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	w.SetClock(func() time.Time { return at })
	if err := w.Write("stdout", []byte("a\nb\npartial")); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stderr", []byte("e\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var got []Entry
	for _, p := range []string{path + ".2", path + ".1", path} {
		got = append(got, readLog(t, p)...)
	}
	want := []Entry{
		{Log: "a\n", Stream: "stdout", Time: at}, {Log: "b\n", Stream: "stdout", Time: at},
		{Log: "partial", Stream: "stdout", Time: at}, {Log: "e\n", Stream: "stderr", Time: at},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	for _, p := range []string{path, path + ".1"} {
		if fi, err := os.Stat(p); err != nil || fi.Size() > 150 {
			t.Errorf("%s: %v, size over the limit", p, err)
		}
	}
	// Keep writing: never more than 3 files.
	w, _ = OpenLog(path, 150, 3)
	for range 20 {
		_ = w.Write("stdout", []byte("more\n"))
	}
	w.Close()
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("a fourth log file exists")
	}
}

func readLog(t *testing.T, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, e)
	}
	return out
}

func TestLogLineIsDockerJSONFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l")
	w, _ := OpenLog(path, 0, 1)
	w.SetClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC) })
	_ = w.Write("stdout", []byte("hi \"there\"\n"))
	w.Close()
	b, _ := os.ReadFile(path)
	want := `{"log":"hi \"there\"\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}` + "\n"
	if string(b) != want {
		t.Errorf("line = %s; want %s", b, want)
	}
}

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		p        RestartPolicy
		code     int
		restarts int
		user     bool
		want     bool
	}{
		{RestartPolicy{Name: "no"}, 1, 0, false, false},
		{RestartPolicy{}, 1, 0, false, false},
		{RestartPolicy{Name: "always"}, 0, 5, false, true},
		{RestartPolicy{Name: "always"}, 137, 0, true, false},
		{RestartPolicy{Name: "unless-stopped"}, 0, 0, false, true},
		{RestartPolicy{Name: "unless-stopped"}, 0, 0, true, false},
		{RestartPolicy{Name: "on-failure"}, 0, 0, false, false},
		{RestartPolicy{Name: "on-failure"}, 2, 100, false, true},
		{RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}, 1, 1, false, true},
		{RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}, 1, 2, false, false},
	}
	for _, tc := range tests {
		if got := ShouldRestart(tc.p, tc.code, tc.restarts, tc.user); got != tc.want {
			t.Errorf("ShouldRestart(%+v, code %d, %d restarts, user %v) = %v", tc.p, tc.code, tc.restarts, tc.user, got)
		}
	}
}

func TestNextBackoff(t *testing.T) {
	var d time.Duration
	var got []time.Duration
	for range 12 {
		d = NextBackoff(d, time.Second)
		got = append(got, d)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond, 12800 * time.Millisecond,
		25600 * time.Millisecond, 51200 * time.Millisecond, time.Minute, time.Minute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("back-off (-want +got):\n%s", diff)
	}
	if d := NextBackoff(time.Minute, 10*time.Second); d != 100*time.Millisecond {
		t.Errorf("after 10s up the back-off resets; got %v", d)
	}
}

func TestApplyProbe(t *testing.T) {
	ok, fail := Probe{ExitCode: 0}, Probe{ExitCode: 1}
	steps := []struct {
		p       Probe
		inStart bool
		status  string
		streak  int
	}{
		{fail, true, "starting", 0}, // failures in the start period do not count
		{fail, false, "starting", 1},
		{fail, false, "unhealthy", 2}, // retries = 2
		{ok, false, "healthy", 0},
		{fail, true, "healthy", 1}, // after a success, the start period is over
		{ok, false, "healthy", 0},
		{ok, false, "healthy", 0},
	}
	var hs *HealthState
	for i, s := range steps {
		hs = ApplyProbe(hs, s.p, s.inStart, 2)
		if hs.Status != s.status || hs.FailingStreak != s.streak {
			t.Fatalf("step %d: %s/%d; want %s/%d", i, hs.Status, hs.FailingStreak, s.status, s.streak)
		}
	}
	if len(hs.Log) != 5 {
		t.Errorf("log keeps %d probes; want 5", len(hs.Log))
	}
}

func TestUpdateSerialises(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Update(t.Context(), dir, func(st *State) error { st.RestartCount++; return nil })
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, err := ReadState(dir)
	if err != nil || st.RestartCount != 20 {
		t.Errorf("after 20 increments: %d, %v", st.RestartCount, err)
	}
}

func TestReadStateMissingIsCreated(t *testing.T) {
	st, err := ReadState(t.TempDir())
	if err != nil || st.Status != Created {
		t.Errorf("ReadState = %+v, %v", st, err)
	}
}

func TestFrames(t *testing.T) {
	var b strings.Builder
	_ = WriteFrame(&b, KindStdout, []byte("hello"))
	_ = WriteFrame(&b, KindExit, []byte{0, 0, 0, 3})
	r := strings.NewReader(b.String())
	k, p, err := ReadFrame(r)
	if err != nil || k != KindStdout || string(p) != "hello" {
		t.Fatalf("frame 1 = %d %q %v", k, p, err)
	}
	k, p, err = ReadFrame(r)
	if err != nil || k != KindExit || len(p) != 4 || p[3] != 3 {
		t.Fatalf("frame 2 = %d %v %v", k, p, err)
	}
}

func TestStartTime(t *testing.T) {
	st, ok := StartTime(os.Getpid())
	if !ok || st == 0 {
		t.Fatalf("StartTime(self) = %d, %v", st, ok)
	}
	if !Alive(os.Getpid(), st) || Alive(os.Getpid(), st+1) {
		t.Error("Alive must match the start time")
	}
	if _, ok := StartTime(1 << 30); ok {
		t.Error("StartTime of a missing pid")
	}
}
