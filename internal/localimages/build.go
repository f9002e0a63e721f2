// Package localimages builds the images the local cluster's real nodes run, here and without a
// registry: a root filesystem from Debian packages (mmdebstrap) or from nothing, plus files the
// image adds (Go binaries, busybox, entrypoint scripts), packed as a one-layer OCI archive that
// `ctr images import` reads. Archives are cached by the hash of their inputs, so a second build
// of unchanged inputs is a lookup.
package localimages

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Suite is the Debian release the root filesystems come from.
const Suite = "bookworm"

// Spec is one image.
type Spec struct {
	Name string // the image reference the stack names, e.g. shoestring.local/edge:dev
	// Packages make a Debian root filesystem (mmdebstrap's essential variant plus these);
	// none: the image holds only Files.
	Packages []string
	// Remove are globs of files the packages install that the image must not hold (e.g. keys
	// a package's install script generates).
	Remove []string
	Config ImageConfig
	// Inputs are the files and folders whose content the image is made from, beyond the spec
	// itself (sources, the host binaries it copies): the cache key hashes them.
	Inputs []string
	// Files are what the image adds; it runs after the cache missed.
	Files func(ctx context.Context, b *Builder) ([]File, error)
}

// Builder builds specs into CacheDir.
type Builder struct {
	RepoDir  string    // the repository (services/, tools/)
	CacheDir string    // archives, the apt package cache, work folders
	Log      io.Writer // one line per image, and one every Heartbeat while an image builds (nil: silent)
	// Heartbeat is how often a build in progress says it is alive (0: every 30 s).
	Heartbeat time.Duration
}

// Planned is whether an image would be built or is in the cache.
type Planned struct {
	Spec    Spec
	Archive string
	Cached  bool
}

// Built is a built image.
type Built struct {
	Name    string
	Archive string // the OCI archive
	Cached  bool
	Seconds float64
}

// Archives are the built images' archives, in order: what a cluster's Options.Images takes.
func Archives(built []Built) []string {
	out := make([]string, len(built))
	for i, b := range built {
		out[i] = b.Archive
	}
	return out
}

// Plan says, for every spec, where its archive is and whether it is already built.
func (b *Builder) Plan(specs []Spec) ([]Planned, error) {
	var out []Planned
	for _, s := range specs {
		archive, err := b.archive(s)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", s.Name, err)
		}
		_, err = os.Stat(archive)
		out = append(out, Planned{Spec: s, Archive: archive, Cached: err == nil})
	}
	return out, nil
}

// Build returns the archive of every spec, building those whose inputs changed. It says first
// which ones it builds and what that usually takes, then "1 of n" as each starts.
func (b *Builder) Build(ctx context.Context, specs []Spec) ([]Built, error) {
	plan, err := b.Plan(specs)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, p := range plan {
		if !p.Cached {
			n++
		}
	}
	if n > 0 {
		b.logf("%s", Summary(plan))
	}
	var out []Built
	i := 0
	for _, p := range plan {
		if !p.Cached {
			i++
			b.logf("building %s (%d of %d; %s)", p.Spec.Name, i, n, usualText(coldSeconds[p.Spec.Name]))
		}
		stop := b.heartbeat(p, i, n)
		r, err := b.build(ctx, p.Spec)
		stop()
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", p.Spec.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Summary says which images of a plan are to be built and what that usually takes ("": none).
func Summary(plan []Planned) string {
	var todo []string
	usual := 0
	for _, p := range plan {
		if !p.Cached {
			todo = append(todo, p.Spec.Name)
			usual += coldSeconds[p.Spec.Name]
		}
	}
	if len(todo) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d to build (%s): usually %s on 2 cores with an empty apt cache",
		len(todo), len(plan), strings.Join(todo, ", "), roughly(usual))
}

func roughly(secs int) string {
	switch m := (secs + 30) / 60; {
	case secs < 60:
		return "under a minute"
	case m == 1:
		return "about a minute"
	default:
		return fmt.Sprintf("about %d minutes", m)
	}
}

func usualText(secs int) string {
	if secs == 0 {
		return "no usual time measured"
	}
	return fmt.Sprintf("usually %d s on 2 cores", secs)
}

// heartbeat logs, while an image that is not cached builds, how long it has run; the returned
// func stops it.
func (b *Builder) heartbeat(p Planned, i, n int) func() {
	if p.Cached || b.Log == nil {
		return func() {}
	}
	every := b.Heartbeat
	if every <= 0 {
		every = 30 * time.Second
	}
	start := time.Now()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				b.logf("  still building %s (%d of %d): %ds so far; %s", p.Spec.Name, i, n,
					int(time.Since(start).Seconds()), usualText(coldSeconds[p.Spec.Name]))
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// archive is where a spec's archive is kept: named by the hash of its inputs.
func (b *Builder) archive(s Spec) (string, error) {
	key, err := b.key(s)
	if err != nil {
		return "", err
	}
	base := strings.NewReplacer("/", "_", ":", "_").Replace(s.Name)
	return filepath.Join(b.CacheDir, "images", base+"-"+key[:16]+".tar"), nil
}

func (b *Builder) logf(format string, args ...any) {
	if b.Log != nil {
		fmt.Fprintf(b.Log, "images: "+format+"\n", args...)
	}
}

func (b *Builder) build(ctx context.Context, s Spec) (Built, error) {
	start := time.Now()
	archive, err := b.archive(s)
	if err != nil {
		return Built{}, err
	}
	dir := filepath.Dir(archive)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Built{}, err
	}
	base := strings.NewReplacer("/", "_", ":", "_").Replace(s.Name)
	if _, err := os.Stat(archive); err == nil {
		b.logf("%s: cached (%s)", s.Name, archive)
		return Built{Name: s.Name, Archive: archive, Cached: true}, nil
	}
	work, err := os.MkdirTemp(dir, base+"-work-")
	if err != nil {
		return Built{}, err
	}
	defer os.RemoveAll(work)

	var rootfs io.Reader
	if len(s.Packages) > 0 {
		path := filepath.Join(work, "rootfs.tar")
		if err := b.debootstrap(ctx, s.Packages, s.Remove, path); err != nil {
			return Built{}, err
		}
		f, err := os.Open(path)
		if err != nil {
			return Built{}, err
		}
		defer f.Close()
		rootfs = f
	}
	var files []File
	if s.Files != nil {
		if files, err = s.Files(ctx, b); err != nil {
			return Built{}, err
		}
	}
	layerPath := filepath.Join(work, "layer.tar.gz")
	lf, err := os.Create(layerPath)
	if err != nil {
		return Built{}, err
	}
	digest, size, diffID, err := writeLayer(lf, rootfs, files)
	if cerr := lf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Built{}, err
	}
	tmp := filepath.Join(work, "image.tar")
	af, err := os.Create(tmp)
	if err != nil {
		return Built{}, err
	}
	err = writeOCIArchive(af, s.Name, s.Config, layerPath, digest, size, diffID)
	if cerr := af.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Built{}, err
	}
	if err := os.Rename(tmp, archive); err != nil {
		return Built{}, err
	}
	// Older archives of the same image are superseded.
	old, _ := filepath.Glob(filepath.Join(dir, base+"-*.tar"))
	for _, o := range old {
		if o != archive {
			_ = os.Remove(o)
		}
	}
	secs := time.Since(start).Seconds()
	b.logf("%s: built in %.1fs, layer %.1f MB (%s)", s.Name, secs, float64(size)/1e6, archive)
	return Built{Name: s.Name, Archive: archive, Seconds: secs}, nil
}

// key hashes the spec and the content of its inputs.
func (b *Builder) key(s Spec) (string, error) {
	h := sha256.New()
	spec, err := json.Marshal(struct {
		Name     string
		Packages []string
		Suite    string
		Remove   []string `json:",omitempty"`
		Config   ImageConfig
		Format   int
	}{s.Name, s.Packages, Suite, s.Remove, s.Config, 1})
	if err != nil {
		return "", err
	}
	h.Write(spec)
	for _, in := range s.Inputs {
		if !filepath.IsAbs(in) {
			in = filepath.Join(b.RepoDir, in)
		}
		if err := hashTree(h, in); err != nil {
			return "", fmt.Errorf("input %s: %w", in, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashTree(h io.Writer, root string) error {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%s %x\n", rel, sum)
	}
	return nil
}

// debootstrap writes a Debian root filesystem with the packages to out (a tar). Downloaded
// packages are kept in the cache's apt folder, so a rebuild downloads nothing.
func (b *Builder) debootstrap(ctx context.Context, packages, remove []string, out string) error {
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return fmt.Errorf("mmdebstrap is not installed (apt-get install mmdebstrap; `make test-setup` does it)")
	}
	aptCache := filepath.Join(b.CacheDir, "apt")
	if err := os.MkdirAll(aptCache, 0o755); err != nil {
		return err
	}
	args := []string{
		"--variant=essential", "--mode=root", "--format=tar",
		"--include=" + strings.Join(packages, ","),
		// Documentation and translations are dead weight in a container image.
		"--dpkgopt=path-exclude=/usr/share/doc/*",
		"--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*",
		"--skip=essential/unlink",
		"--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
		"--setup-hook=sync-in " + aptCache + " /var/cache/apt/archives/",
		"--customize-hook=sync-out /var/cache/apt/archives " + aptCache,
		"--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb",
	}
	for _, glob := range remove {
		args = append(args, "--customize-hook=rm -f \"$1\""+glob)
	}
	args = append(args, Suite, out)
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+fmt.Sprint(epoch.Unix()))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mmdebstrap %s: %v; its output ends with:\n%s", strings.Join(packages, ","), err, tail(log.String(), 15))
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// goBinary builds a Go main package of a module in the repository as a static binary.
func (b *Builder) goBinary(ctx context.Context, moduleDir, pkg string) ([]byte, error) {
	out := filepath.Join(b.CacheDir, "images", "go-"+filepath.Base(moduleDir)+"-"+fmt.Sprint(os.Getpid()))
	defer os.Remove(out)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = filepath.Join(b.RepoDir, moduleDir)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s in %s: %v: %s", pkg, moduleDir, err, msg)
	}
	return os.ReadFile(out)
}
