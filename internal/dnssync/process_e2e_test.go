package dnssync

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/testing/cloudflarefake"
)

// buildBinary builds cmd/dnssync as it ships (static, stripped) once per test binary.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "dnssync-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "dnssync")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/shoestring-dev/shoestring/cmd/dnssync")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", &buildError{out: string(out), err: err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build ./cmd/dnssync: " + e.err.Error() + "\n" + e.out }

func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := buildOnce()
	require.NoError(t, err)
	return bin
}

// written is one write request that reached the double through a replica's front.
type written struct {
	Replica string
	Method  string
	Content string
	Status  int
	At      time.Time
}

// front serves the double to one replica and records its writes (with the record content sent).
type front struct {
	mu  sync.Mutex
	log []written
}

func (f *front) serve(t *testing.T, cf *cloudflarefake.Server, replica string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now() // when the write was sent, not when it was answered
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		cf.ServeHTTP(sw, r)
		if r.Method == http.MethodGet {
			return
		}
		var rec struct {
			Content string `json:"content"`
		}
		_ = json.Unmarshal(body, &rec)
		f.mu.Lock()
		f.log = append(f.log, written{Replica: replica, Method: r.Method, Content: rec.Content, Status: sw.status, At: at})
		f.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/client/v4/"
}

func (f *front) writes() []written {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// process is a running dnssync binary.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startProcess runs the binary against kubeconfig and the Cloudflare API at apiURL.
func startProcess(t *testing.T, bin, name, kubeconfig, apiURL string, extra ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logf, err := os.Create(logPath)
	require.NoError(t, err)
	args := append([]string{"--kubeconfig", kubeconfig, "--api-base-url", apiURL, "--zone", testZone, "--names", testName,
		"--owner-id", testOwner, "--metrics-addr", "", "--log-format", "text"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CLOUDFLARE_API_TOKEN="+testToken)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- %s log ---\n%s", name, b)
		}
	})
	return p
}

// kill ends the process at once (SIGKILL: no release of its Lease, as when a node dies).
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
