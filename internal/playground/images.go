package playground

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distribution/reference"
)

// ImageBuild is a container image the repository builds: the images workflow builds each one,
// tags it with the commit and pushes it; deploy and playground runs pass the refs to up.
type ImageBuild struct {
	Name       string `json:"name"`       // the service, "dnssync" or "dev-sftp"
	Context    string `json:"context"`    // the docker build context, relative to the repository root
	Dockerfile string `json:"dockerfile"` // relative to the repository root
	Image      string `json:"image,omitempty"`
}

// DNSSyncBuild is the DNS-sync controller's image (shoestring:dnssync.image); its Dockerfile builds
// from the repository root, as it needs the module.
var DNSSyncBuild = ImageBuild{Name: "dnssync", Context: ".", Dockerfile: "cmd/dnssync/Dockerfile"}

// DevSFTPBuild is dev mode's SSH/SFTP sidecar (shoestring:devMode.sidecarImage), built from the
// packages and entrypoint of the local cluster's image.
var DevSFTPBuild = ImageBuild{Name: "dev-sftp", Context: ".", Dockerfile: "internal/localimages/files/openssh-server.Dockerfile"}

// Sources are the service folders of a base stack in a repository checkout.
type Sources struct {
	// Dirs maps each service whose folder exists to it (relative, slash-separated).
	Dirs map[string]string
	// Missing maps each service whose folder does not exist to the folder looked for: no change
	// can select it, and nothing builds its image here.
	Missing map[string]string
}

// FindSources looks up each service's folder (sourceOf: playground.sources, or services/<name>) in
// the repository at root.
func FindSources(root string, services []string, sourceOf func(string) string) Sources {
	s := Sources{Dirs: map[string]string{}, Missing: map[string]string{}}
	for _, svc := range services {
		dir := path.Clean(sourceOf(svc))
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(dir))); err == nil && fi.IsDir() {
			s.Dirs[svc] = dir
		} else {
			s.Missing[svc] = dir
		}
	}
	return s
}

// Builds are the image builds of the services whose folder holds a Dockerfile, sorted by name.
func (s Sources) Builds(root string) []ImageBuild {
	var out []ImageBuild
	for svc, dir := range s.Dirs {
		df := path.Join(dir, "Dockerfile")
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(df))); err == nil {
			out = append(out, ImageBuild{Name: svc, Context: dir, Dockerfile: df})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Tag sets each build's image to registry/<name>:tag. A moving tag ("latest") is refused: the
// point of tagging with the commit is that every environment names exactly what it runs. The
// registry path and the tag are checked with github.com/distribution/reference, the grammar
// container runtimes parse; the registry is written in full (its host first, no docker.io shorthand).
func Tag(builds []ImageBuild, registry, tag string) ([]ImageBuild, error) {
	registry = strings.TrimSuffix(registry, "/")
	probe, err := reference.ParseNamed(registry + "/image")
	if err != nil || registry == "" {
		return nil, fmt.Errorf("image registry %q is not a registry path: use e.g. \"us-central1-docker.pkg.dev/<project>/<repository>\" (the IMAGE_REGISTRY repository variable)", registry)
	}
	if _, err := reference.WithTag(probe, tag); err != nil || tag == "latest" {
		return nil, fmt.Errorf("image tag %q is not a fixed tag: use the commit (e.g. $GITHUB_SHA)", tag)
	}
	out := make([]ImageBuild, len(builds))
	for i, b := range builds {
		named, err := reference.ParseNamed(registry + "/" + b.Name)
		if err != nil {
			return nil, fmt.Errorf("image %s/%s: %w", registry, b.Name, err)
		}
		tagged, err := reference.WithTag(named, tag)
		if err != nil {
			return nil, err // the tag was accepted above
		}
		b.Image = tagged.String()
		out[i] = b
	}
	return out, nil
}

// ChangedFiles lists the files the current HEAD of the repository at root changes since it left
// base (`git diff --name-only base...HEAD`).
func ChangedFiles(root, base string) ([]string, error) {
	cmd := exec.Command("git", "diff", "--name-only", "--no-renames", base+"...HEAD")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git diff %s...HEAD: %w: %s (in CI, check out with fetch-depth: 0)", base, err, strings.TrimSpace(stderr.String()))
	}
	return strings.Fields(string(out)), nil
}

// BranchImages is what a playground of a branch runs of its own.
type BranchImages struct {
	// Changed are the services whose folder the branch changes (sorted).
	Changed []string
	// Builds are their image builds, tagged, when a registry and tag were given.
	Builds []ImageBuild
	// Images maps each changed service to its image built from the branch.
	Images map[string]string
}

// SelectBranch picks the services a playground runs from the branch: those whose existing folder
// holds a changed file. With a registry and tag, each of them gets its image built from the
// branch; a changed service whose folder has no Dockerfile is an error then, since the playground
// would otherwise run the base stack's image of it and not the branch's code.
func SelectBranch(root string, changedFiles []string, src Sources, registry, tag string) (BranchImages, error) {
	sel := BranchImages{Changed: ChangedServices(changedFiles, src.Dirs), Images: map[string]string{}}
	if registry == "" && tag == "" {
		return sel, nil
	}
	builds := map[string]ImageBuild{}
	for _, b := range src.Builds(root) {
		builds[b.Name] = b
	}
	var want []ImageBuild
	for _, svc := range sel.Changed {
		b, ok := builds[svc]
		if !ok {
			return BranchImages{}, fmt.Errorf("the branch changes service %q (folder %s) but %s/Dockerfile does not exist, so the playground would run the base stack's image of it: add the Dockerfile, or point shoestring:playground.sources.%s at the folder that has one",
				svc, src.Dirs[svc], src.Dirs[svc], svc)
		}
		want = append(want, b)
	}
	tagged, err := Tag(want, registry, tag)
	if err != nil {
		return BranchImages{}, err
	}
	sel.Builds = tagged
	for _, b := range tagged {
		sel.Images[b.Name] = b.Image
	}
	return sel, nil
}
