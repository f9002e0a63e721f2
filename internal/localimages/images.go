package localimages

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The images of the local cluster. Names are under shoestring.local, a registry that does not
// exist, so nothing can ever pull them: they are only imported.
const (
	Pause      = "shoestring.local/pause:3.10"
	WaitFor    = "shoestring.local/wait-for:bookworm"
	Nginx      = "shoestring.local/nginx:1.22"
	MariaDB    = "shoestring.local/mariadb:10.11"
	Redis      = "shoestring.local/redis:7.0"
	ExampleAPI = "shoestring.local/example-api:dev"
	SSHServer  = "shoestring.local/openssh-server:9.2"
)

//go:embed files/mariadb-entrypoint.sh
var mariadbEntrypoint []byte

//go:embed files/sshd-entrypoint.sh
var sshdEntrypoint []byte

// busyboxBinary is Debian's busybox-static on the host (installed by the test set-up).
const busyboxBinary = "/bin/busybox"

// Catalogue is every image the dev stack's workloads and the real nodes use.
func Catalogue() []Spec {
	// A writable /tmp, and folders the non-root servers write to.
	tmp := []File{{Path: "/tmp", Dir: true, Mode: 0o1777}}
	return []Spec{
		{
			Name:   Pause,
			Config: ImageConfig{Entrypoint: []string{"/pause"}, User: "65535:65535"},
			Inputs: []string{"tools/kube/go.mod"},
			Files: func(ctx context.Context, b *Builder) ([]File, error) {
				bin, err := b.pauseBinary(ctx)
				if err != nil {
					return nil, err
				}
				return []File{{Path: "/pause", Mode: 0o755, Data: bin}}, nil
			},
		},
		{
			// The wait-for init containers need sh, `nc -z` and wget. Debian's busybox lacks
			// nc -z, and its shell runs its own applets before any other nc on PATH.
			Name:     WaitFor,
			Packages: []string{"netcat-openbsd", "wget"},
			Config:   ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		},
		{
			// The edge: its start script needs sh and awk; nginx runs as the pod's user.
			Name:     Nginx,
			Packages: []string{"nginx-light", "mawk"},
			Config:   ImageConfig{Cmd: []string{"nginx", "-g", "daemon off;"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		},
		{
			// MySQL-compatible, with the official mysql image's environment contract.
			Name:     MariaDB,
			Packages: []string{"mariadb-server-core", "mariadb-client-core"},
			Config: ImageConfig{
				Entrypoint:   []string{"/usr/local/bin/docker-entrypoint.sh"},
				User:         "999:999",
				Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				ExposedPorts: map[string]struct{}{"3306/tcp": {}},
			},
			Files: func(context.Context, *Builder) ([]File, error) {
				return append([]File{
					{Path: "/usr/local/bin/docker-entrypoint.sh", Mode: 0o755, Data: mariadbEntrypoint},
					{Path: "/var/lib/mysql", Dir: true, Mode: 0o777},
					{Path: "/docker-entrypoint-initdb.d", Dir: true},
				}, tmp...), nil
			},
			Inputs: []string{"internal/localimages/files/mariadb-entrypoint.sh"},
		},
		{
			Name:     Redis,
			Packages: []string{"redis-server"},
			Config: ImageConfig{
				Cmd:          []string{"redis-server", "--bind", "0.0.0.0", "--port", "6379", "--protected-mode", "no", "--dir", "/data", "--save", "60", "1"},
				User:         "999:999",
				Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				ExposedPorts: map[string]struct{}{"6379/tcp": {}},
			},
			Files: func(context.Context, *Builder) ([]File, error) {
				return append([]File{{Path: "/data", Dir: true, Mode: 0o777}}, tmp...), nil
			},
		},
		{
			// Dev mode's SSH/SFTP sidecar. The package's host keys are removed: each container
			// makes its own at start, so no two share one and the image stays reproducible.
			Name:     SSHServer,
			Packages: []string{"openssh-server", "libnss-wrapper"},
			Remove:   []string{"/etc/ssh/ssh_host_*"},
			Config: ImageConfig{
				Entrypoint:   []string{"/usr/local/bin/sshd-entrypoint.sh"},
				User:         "1000:1000",
				Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				ExposedPorts: map[string]struct{}{"2222/tcp": {}},
			},
			Files: func(context.Context, *Builder) ([]File, error) {
				return append([]File{{Path: "/usr/local/bin/sshd-entrypoint.sh", Mode: 0o755, Data: sshdEntrypoint}}, tmp...), nil
			},
			Inputs: []string{"internal/localimages/files/sshd-entrypoint.sh"},
		},
		{
			// The example service, with busybox's shell for dev mode's code copy.
			Name: ExampleAPI,
			Config: ImageConfig{
				Cmd:          []string{"/app/bin/console", "serve"},
				User:         "65532:65532",
				WorkingDir:   "/app",
				Env:          []string{"PATH=/app/bin:/bin"},
				ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			},
			Inputs: []string{"services/api", busyboxBinary},
			Files: func(ctx context.Context, b *Builder) ([]File, error) {
				bin, err := b.goBinary(ctx, "services/api", ".")
				if err != nil {
					return nil, err
				}
				files, err := busyboxFiles(ctx)
				if err != nil {
					return nil, err
				}
				return append(append(files, tmp...), File{Path: "/app/bin/console", Mode: 0o755, Data: bin}), nil
			},
		},
	}
}

// coldSeconds is what each image's build usually takes on 2 cores with an empty apt cache
// (measured 2026-12-04, docs/local.md), for the progress lines.
var coldSeconds = map[string]int{
	Pause: 1, WaitFor: 118, Nginx: 112, MariaDB: 183, Redis: 196, SSHServer: 176, ExampleAPI: 6,
}

// Named returns the catalogue's specs with these names, in catalogue order ("" or none: all).
func Named(names ...string) ([]Spec, error) {
	all := Catalogue()
	if len(names) == 0 {
		return all, nil
	}
	var out []Spec
	for _, n := range names {
		found := false
		for _, s := range all {
			if s.Name == n {
				out, found = append(out, s), true
			}
		}
		if !found {
			var known []string
			for _, s := range all {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("no local image %q: the images built here are %s", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// busyboxFiles is the static busybox with a symlink per applet under /bin.
func busyboxFiles(ctx context.Context) ([]File, error) {
	data, err := os.ReadFile(busyboxBinary)
	if err != nil {
		return nil, fmt.Errorf("%w (apt-get install busybox-static; `make test-setup` does it)", err)
	}
	out, err := exec.CommandContext(ctx, busyboxBinary, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", busyboxBinary, err)
	}
	files := []File{{Path: "/bin/busybox", Mode: 0o755, Data: data}}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			files = append(files, File{Path: "/bin/" + applet, Link: "busybox"})
		}
	}
	return files, nil
}

// pauseBinary compiles the Kubernetes pause container's C source (from the pinned kube module)
// statically.
func (b *Builder) pauseBinary(ctx context.Context) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes")
	cmd.Dir = filepath.Join(b.RepoDir, "tools", "kube")
	dir, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("finding the k8s.io/kubernetes module of tools/kube (scripts/tools.sh kube downloads it): %w", err)
	}
	src := filepath.Join(strings.TrimSpace(string(dir)), "build", "pause", "linux", "pause.c")
	out := filepath.Join(b.CacheDir, "images", fmt.Sprintf("pause-%d", os.Getpid()))
	defer os.Remove(out)
	if msg, err := exec.CommandContext(ctx, "gcc", "-Os", "-static", "-DVERSION=v3.10-shoestring", "-o", out, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gcc %s: %v: %s", src, err, msg)
	}
	return os.ReadFile(out)
}
