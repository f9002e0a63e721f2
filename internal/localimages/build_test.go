package localimages

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// lines is a Log that keeps what was written and signals the first heartbeat line.
type lines struct {
	mu   sync.Mutex
	buf  strings.Builder
	beat chan struct{}
	once sync.Once
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.Contains(string(p), "still building") {
		l.once.Do(func() { close(l.beat) })
	}
	return l.buf.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// A build says up front what it will build, then "i of n" as each image starts, and stays alive
// while one runs; a second build of the same inputs finds it cached and builds nothing.
func TestBuildSaysWhatItBuildsAndStaysAlive(t *testing.T) {
	log := &lines{beat: make(chan struct{})}
	b := &Builder{RepoDir: t.TempDir(), CacheDir: t.TempDir(), Log: log, Heartbeat: 20 * time.Millisecond}
	slow := Spec{
		Name: "shoestring.local/slow:test",
		Files: func(ctx context.Context, _ *Builder) ([]File, error) {
			// The image is done only once the build has said it is still running.
			select {
			case <-log.beat:
				return []File{{Path: "/hello", Data: []byte("hi")}}, nil
			case <-time.After(10 * time.Second):
				return nil, errors.New("no heartbeat line within 10 s")
			}
		},
	}
	quick := Spec{Name: Pause, Files: func(context.Context, *Builder) ([]File, error) {
		return []File{{Path: "/pause", Data: []byte("x")}}, nil
	}}
	plan, err := b.Plan([]Spec{slow, quick})
	if err != nil {
		t.Fatal(err)
	}
	if plan[0].Cached || plan[1].Cached {
		t.Fatalf("plan of an empty cache says something is built: %+v", plan)
	}
	want := "2 of 2 to build (shoestring.local/slow:test, " + Pause + "): usually under a minute on 2 cores"
	if got := Summary(plan); !strings.HasPrefix(got, want) {
		t.Errorf("summary %q, want it to start with %q", got, want)
	}
	if _, err := b.Build(context.Background(), []Spec{slow, quick}); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, w := range []string{
		"images: 2 of 2 to build",
		"images: building shoestring.local/slow:test (1 of 2; no usual time measured)",
		"images:   still building shoestring.local/slow:test (1 of 2): ",
		"images: building " + Pause + " (2 of 2; usually 1 s on 2 cores)",
		"images: " + Pause + ": built in ",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("build log lacks %q:\n%s", w, out)
		}
	}

	again := &lines{beat: make(chan struct{})}
	b.Log = again
	plan, err = b.Plan([]Spec{slow, quick})
	if err != nil {
		t.Fatal(err)
	}
	if !plan[0].Cached || !plan[1].Cached || Summary(plan) != "" {
		t.Fatalf("plan after the build: %+v, summary %q; want both cached", plan, Summary(plan))
	}
	if _, err := b.Build(context.Background(), []Spec{slow, quick}); err != nil {
		t.Fatal(err)
	}
	if out := again.String(); strings.Contains(out, "building") || strings.Count(out, ": cached (") != 2 {
		t.Errorf("second build should only find both cached:\n%s", out)
	}
}
