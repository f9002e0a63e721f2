package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoestring-dev/shoestring/internal/playground"
	"github.com/shoestring-dev/shoestring/stacks"
)

// TestImagesListCoversTheRepositorysServices: the images workflow's list for the committed sandbox
// stack is the example service (services/api has a Dockerfile), the DNS-sync controller and dev
// mode's sidecar (sandbox allows dev mode), tagged with the commit; the deploy step's flags name
// the same refs. Prod, where dev mode is not allowed, builds no sidecar.
func TestImagesListCoversTheRepositorysServices(t *testing.T) {
	root := filepath.Join("..", "..")
	file := filepath.Join(root, "Pulumi.sandbox.yaml")
	var out bytes.Buffer
	require.NoError(t, imagesList([]string{"--file", file, "--root", root, "--registry", "europe-west1-docker.pkg.dev/acme/shoestring", "--tag", "0123abc"}, &out))
	var builds []playground.ImageBuild
	require.NoError(t, json.Unmarshal(out.Bytes(), &builds))
	assert.Equal(t, []playground.ImageBuild{
		{Name: "api", Context: "services/api", Dockerfile: "services/api/Dockerfile", Image: "europe-west1-docker.pkg.dev/acme/shoestring/api:0123abc"},
		{Name: "dnssync", Context: ".", Dockerfile: "cmd/dnssync/Dockerfile", Image: "europe-west1-docker.pkg.dev/acme/shoestring/dnssync:0123abc"},
		{Name: "dev-sftp", Context: ".", Dockerfile: "internal/localimages/files/openssh-server.Dockerfile", Image: "europe-west1-docker.pkg.dev/acme/shoestring/dev-sftp:0123abc"},
	}, builds)
	for _, b := range builds {
		_, err := os.Stat(filepath.Join(root, b.Dockerfile))
		assert.NoError(t, err, "%s: the Dockerfile exists", b.Name)
	}
	assert.Equal(t, 1, strings.Count(out.String(), "\n"), "one line, for $GITHUB_OUTPUT")

	out.Reset()
	require.NoError(t, imagesList([]string{"--file", file, "--root", root, "--registry", "ghcr.io/acme", "--tag", "0123abc", "--format", "flags"}, &out))
	assert.Equal(t, "--image api=ghcr.io/acme/api:0123abc --image dnssync=ghcr.io/acme/dnssync:0123abc --image dev-sftp=ghcr.io/acme/dev-sftp:0123abc\n", out.String())
	out.Reset()
	require.NoError(t, imagesList([]string{"--file", filepath.Join(root, "Pulumi.prod.yaml"), "--root", root, "--format", "names"}, &out))
	assert.Equal(t, "api\ndnssync\n", out.String(), "prod does not allow dev mode")

	err := imagesList([]string{"--file", file, "--root", root, "--registry", "ghcr.io/acme", "--tag", "latest"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `image tag "latest" is not a fixed tag`)
	err = imagesList([]string{"--file", file, "--root", root, "--registry", "ghcr.io/acme"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "give --registry and --tag together")
}

const pinStack = `# A stack; comments stay.
config:
  shoestring:cluster:
    gke: {zone: us-central1-a}
  shoestring:services:
    - name: api  # the API
      image: ghcr.io/acme/api:1.0.0
      ports: [{name: http, port: 8080}]
    - name: web
      image: ghcr.io/acme/web:1.0.0
      ports: [{name: http, port: 80}]
`

func TestImagesPinSetsImagesInTheStackFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.sandbox.yaml")
	require.NoError(t, os.WriteFile(path, []byte(pinStack), 0o644))
	var out bytes.Buffer
	require.NoError(t, imagesPin([]string{"--file", path, "--image", "web=reg.example.com/t/web:abc", "--image", "dnssync=reg.example.com/t/dnssync:abc", "--image", "dev-sftp=reg.example.com/t/dev-sftp:abc"}, &out))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), "# A stack; comments stay.")
	assert.Contains(t, string(b), "# the API")
	cfg, err := stacks.LoadStackFile(path)
	require.NoError(t, err)
	assert.Equal(t, "ghcr.io/acme/api:1.0.0", cfg.Services[0].Image, "not named: unchanged")
	assert.Equal(t, "reg.example.com/t/web:abc", cfg.Services[1].Image)
	assert.Equal(t, "reg.example.com/t/dnssync:abc", cfg.DNSSync.Image)
	assert.Equal(t, "reg.example.com/t/dev-sftp:abc", cfg.DevMode.SidecarImage)

	for _, tc := range []struct{ image, want string }{
		{"web=reg.example.com/t/web:latest", `shoestring:services[1].image: "reg.example.com/t/web:latest" uses the moving tag latest`},
		{"dnssync=reg.example.com/t/dnssync", `shoestring:dnssync.image: "reg.example.com/t/dnssync" has no tag or digest`},
		{"worker=reg.example.com/t/worker:abc", `"worker" is not a service of the stack (have api, web) nor dnssync`},
		{"web", `--image "web": write <service>=<ref>`},
	} {
		err := imagesPin([]string{"--file", path, "--image", tc.image}, &out)
		require.Error(t, err, tc.image)
		assert.Contains(t, err.Error(), tc.want)
		after, _ := os.ReadFile(path)
		assert.Equal(t, string(b), string(after), "a refused pin leaves the file as it was")
	}
}

// TestPlaygroundBranchImagesFromARealRepository: the selection `playground up --changed-from` makes,
// in a real repository with commits: a branch that changes services/api runs the branch's api image.
func TestPlaygroundBranchImagesFromARealRepository(t *testing.T) {
	root := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	write := func(name, content string) {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	git("init", "-q", "-b", "main")
	write("Pulumi.sandbox.yaml", pinStack)
	write("services/api/Dockerfile", "FROM scratch\n")
	write("services/web/Dockerfile", "FROM scratch\n")
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	git("checkout", "-q", "-b", "play/faster-api")
	write("services/api/main.go", "package main\n")
	git("add", "-A")
	git("commit", "-q", "-m", "branch")
	sha := git("rev-parse", "HEAD")

	cfg, err := stacks.LoadStackFile(filepath.Join(root, "Pulumi.sandbox.yaml"))
	require.NoError(t, err)
	var log bytes.Buffer
	sel, err := branchImages(cfg, root, "main", "ghcr.io/acme", sha, &log)
	require.NoError(t, err)
	assert.Equal(t, []string{"api"}, sel.Changed)
	assert.Equal(t, map[string]string{"api": "ghcr.io/acme/api:" + sha}, sel.Images)
	assert.Empty(t, log.String(), "both services have folders")

	// The workflow's build list for the same branch: only api.
	var out bytes.Buffer
	require.NoError(t, imagesList([]string{"--file", filepath.Join(root, "Pulumi.sandbox.yaml"), "--root", root, "--changed-from", "main",
		"--registry", "ghcr.io/acme", "--tag", sha, "--format", "names"}, &out))
	assert.Equal(t, "api\n", out.String())

	require.NoError(t, os.RemoveAll(filepath.Join(root, "services", "web")))
	_, err = branchImages(cfg, root, "main", "", "", &log)
	require.NoError(t, err)
	assert.Contains(t, log.String(), "service web has no folder services/web in the repository: a branch cannot change it (set shoestring:playground.sources.web)")
}

// TestImagesPinOfASharedService: a service of Pulumi.yaml's shared definition gets its image in the
// stack's overrides, leaving the shared file and the other stacks alone.
func TestImagesPinOfASharedService(t *testing.T) {
	dir := t.TempDir()
	project := "name: shoestring\nruntime: go\nconfig:\n  shoestring:services:\n    default:\n" +
		"      - {name: api, image: ghcr.io/acme/api:1.0.0, replicas: 1}\n      - {name: web, image: ghcr.io/acme/web:1.0.0}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(project), 0o644))
	path := filepath.Join(dir, "Pulumi.sandbox.yaml")
	require.NoError(t, os.WriteFile(path, []byte("config:\n  shoestring:cluster:\n    gke: {zone: us-central1-a}\n  # what differs\n  shoestring:overrides:\n    services:\n      api: {replicas: 2}\n"), 0o644))
	var out bytes.Buffer
	require.NoError(t, imagesPin([]string{"--file", path, "--image", "api=reg.example.com/t/api:abc", "--image", "web=reg.example.com/t/web:abc"}, &out))

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), "# what differs")
	cfg, err := stacks.LoadStackFile(path)
	require.NoError(t, err)
	assert.Equal(t, "reg.example.com/t/api:abc", cfg.Services[0].Image)
	assert.Equal(t, 2, *cfg.Services[0].Replicas, "the stack's other overrides stay")
	assert.Equal(t, "reg.example.com/t/web:abc", cfg.Services[1].Image)
	shared, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	require.NoError(t, err)
	assert.Equal(t, project, string(shared), "the shared definition is not written")

	err = imagesPin([]string{"--file", path, "--image", "worker=reg.example.com/t/worker:abc"}, &out)
	assert.ErrorContains(t, err, `"worker" is not a service of the stack (have api, web) nor dnssync`)
}

// TestImagesPinResolvesDigests pushes an image to a registry on loopback (go-containerregistry's
// registry, the distribution API in memory) and pins a stack's image by the digest it serves; a
// tag the registry does not have is an error naming it, and the file is left as it was.
func TestImagesPinResolvesDigests(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	ref := host + "/acme/web:abc"
	tag, err := name.ParseReference(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img))
	digest, err := img.Digest()
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "Pulumi.sandbox.yaml")
	require.NoError(t, os.WriteFile(path, []byte(pinStack), 0o644))
	var out bytes.Buffer
	require.NoError(t, imagesPin([]string{"--file", path, "--resolve", "--image", "web=" + ref}, &out))
	cfg, err := stacks.LoadStackFile(path)
	require.NoError(t, err)
	assert.Equal(t, ref+"@"+digest.String(), cfg.Services[1].Image)

	before, err := os.ReadFile(path)
	require.NoError(t, err)
	err = imagesPin([]string{"--file", path, "--resolve", "--image", "api=" + host + "/acme/api:never-pushed"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resolving the digest of "+host+"/acme/api:never-pushed")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "a ref that cannot be resolved changes nothing")
}
