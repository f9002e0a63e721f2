package playground

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitRepo is a real repository in a temp folder; run runs git in it.
type gitRepo struct {
	t    *testing.T
	root string
}

func newRepo(t *testing.T) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: the playground's selection diffs the branch with git")
	}
	r := &gitRepo{t: t, root: t.TempDir()}
	r.run("init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) run(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "git %v: %s", args, out)
	return string(out)
}

func (r *gitRepo) write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.root, name)
		require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(r.t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func (r *gitRepo) commit(msg string, files map[string]string) {
	r.t.Helper()
	r.write(files)
	r.run("add", "-A")
	r.run("commit", "-q", "-m", msg)
}

func defaultSource(s string) string { return "services/" + s }

// TestSelectBranchFromARealRepository: commits on main and on a play/ branch; the selection takes
// the services whose existing folder the branch (not main since) changes, with the images of the
// branch's commit.
func TestSelectBranchFromARealRepository(t *testing.T) {
	r := newRepo(t)
	r.commit("services", map[string]string{
		"README.md":                  "x",
		"services/api/Dockerfile":    "FROM scratch\n",
		"services/api/main.go":       "package main\n",
		"services/users/Dockerfile":  "FROM scratch\n",
		"services/users/users.go":    "package main\n",
		"services/docs/index.md":     "no Dockerfile here",
		"services/api-docs/index.md": "a folder that only starts like api",
	})
	r.run("checkout", "-q", "-b", "play/login")
	r.commit("branch work", map[string]string{
		"services/api/main.go":        "package main // changed\n",
		"services/api/new/handler.go": "package new\n",
		"services/api-docs/index.md":  "changed",
		"README.md":                   "changed too",
	})
	// main moves on after the branch left it: those changes are not the branch's.
	r.run("checkout", "-q", "main")
	r.commit("main moves", map[string]string{"services/users/users.go": "package main // on main\n"})
	r.run("checkout", "-q", "play/login")

	services := []string{"gateway", "api", "users", "docs"}
	src := FindSources(r.root, services, defaultSource)
	assert.Equal(t, map[string]string{"api": "services/api", "users": "services/users", "docs": "services/docs"}, src.Dirs)
	assert.Equal(t, map[string]string{"gateway": "services/gateway"}, src.Missing, "no folder: nothing can select it")
	assert.Equal(t, []ImageBuild{
		{Name: "api", Context: "services/api", Dockerfile: "services/api/Dockerfile"},
		{Name: "users", Context: "services/users", Dockerfile: "services/users/Dockerfile"},
	}, src.Builds(r.root), "docs has no Dockerfile")

	files, err := ChangedFiles(r.root, "main")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"README.md", "services/api-docs/index.md", "services/api/main.go", "services/api/new/handler.go"}, files)

	sha := strings.TrimSpace(r.run("rev-parse", "HEAD"))
	sel, err := SelectBranch(r.root, files, src, "europe-west1-docker.pkg.dev/acme/shoestring", sha)
	require.NoError(t, err)
	assert.Equal(t, []string{"api"}, sel.Changed, "users changed on main only; api-docs is not api's folder")
	assert.Equal(t, map[string]string{"api": "europe-west1-docker.pkg.dev/acme/shoestring/api:" + sha}, sel.Images)
	assert.Equal(t, []ImageBuild{{Name: "api", Context: "services/api", Dockerfile: "services/api/Dockerfile",
		Image: "europe-west1-docker.pkg.dev/acme/shoestring/api:" + sha}}, sel.Builds)

	// Without a registry: the changed services only (a local playground keeps the base's images).
	sel, err = SelectBranch(r.root, files, src, "", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"api"}, sel.Changed)
	assert.Empty(t, sel.Images)

	// A sources entry moves a service's folder: the selection follows it.
	src = FindSources(r.root, services, func(s string) string {
		if s == "docs" {
			return "services/api-docs"
		}
		return defaultSource(s)
	})
	sel, err = SelectBranch(r.root, files, src, "", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"api", "docs"}, sel.Changed)

	// A changed service without a Dockerfile would run the base's image: refused with the fix.
	_, err = SelectBranch(r.root, files, src, "ghcr.io/acme", sha)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `the branch changes service "docs" (folder services/api-docs) but services/api-docs/Dockerfile does not exist`)
	assert.Contains(t, err.Error(), "shoestring:playground.sources.docs")

	// A branch that changes nothing of a service's: only the gateway will run (no images).
	r.run("checkout", "-q", "-b", "play/readme", "main")
	r.commit("docs only", map[string]string{"README.md": "readme"})
	files, err = ChangedFiles(r.root, "main")
	require.NoError(t, err)
	sel, err = SelectBranch(r.root, files, FindSources(r.root, services, defaultSource), "ghcr.io/acme", "abc123")
	require.NoError(t, err)
	assert.Empty(t, sel.Changed)
	assert.Empty(t, sel.Images)

	_, err = ChangedFiles(r.root, "origin/main")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fetch-depth: 0")
}

func TestTagRefusesMovingTagsAndBadRegistries(t *testing.T) {
	b := []ImageBuild{{Name: "api", Context: "services/api", Dockerfile: "services/api/Dockerfile"}}
	got, err := Tag(b, "localhost:5000/team/", "v1.2.3")
	require.NoError(t, err)
	assert.Equal(t, "localhost:5000/team/api:v1.2.3", got[0].Image)
	assert.Empty(t, b[0].Image, "the input is not changed")
	for _, bad := range []struct{ registry, tag, want string }{
		{"ghcr.io/acme", "latest", `image tag "latest" is not a fixed tag`},
		{"ghcr.io/acme", "", `image tag "" is not a fixed tag`},
		{"ghcr.io/acme", "-x", `image tag "-x"`},
		{"GHCR.io/Acme", "abc", `image registry "GHCR.io/Acme" is not a registry path`},
		{"", "abc", `image registry "" is not a registry path`},
		{"https://ghcr.io/acme", "abc", `is not a registry path`},
		{"acme", "abc", `image registry "acme" is not a registry path`}, // Docker Hub is written docker.io/acme
		{"ghcr.io/acme", strings.Repeat("a", 129), `is not a fixed tag`},
	} {
		_, err := Tag(b, bad.registry, bad.tag)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), bad.want)
	}
}
