package workflows

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/shoestring-dev/shoestring/internal/playground"
)

const dir = "../../.github/workflows"

func files(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[filepath.Base(p)] = string(b)
	}
	return out
}

// TestActionlint runs the pinned actionlint (scripts/tools.sh actionlint) on every workflow.
func TestActionlint(t *testing.T) {
	tools := os.Getenv("SHOESTRING_TOOLS")
	if tools == "" {
		home, _ := os.UserHomeDir()
		tools = filepath.Join(home, ".cache", "shoestring", "tools")
	}
	bin := filepath.Join(tools, "bin", "actionlint")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("SHOESTRING_E2E") == "" {
			t.Skip("actionlint is not built: run `make test` (or scripts/tools.sh actionlint)")
		}
		t.Fatalf("actionlint missing at %s: run scripts/tools.sh actionlint", bin)
	}
	cmd := exec.Command(bin, "-color=false")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "actionlint found problems:\n%s", out)
}

type workflow struct {
	// On is the "on:" mapping; YAML 1.1 reads the bare key on as true, hence the tag.
	On          map[string]any `json:"true"`
	Permissions map[string]any `json:"permissions"`
	Jobs        map[string]struct {
		If    string `json:"if"`
		Steps []struct {
			Uses string         `json:"uses"`
			With map[string]any `json:"with"`
		} `json:"steps"`
	} `json:"jobs"`
}

func parse(t *testing.T, text string) workflow {
	t.Helper()
	var w workflow
	require.NoError(t, yaml.Unmarshal([]byte(text), &w))
	return w
}

// TestCloudCredentialsOnlyByWorkloadIdentity: every GCP login is a workload identity federation,
// the workflow may mint OIDC tokens, and no workflow reads a stored secret other than GitHub's own
// token (no key files, no passwords).
func TestCloudCredentialsOnlyByWorkloadIdentity(t *testing.T) {
	secretRef := regexp.MustCompile(`secrets\.([A-Za-z_]+)`)
	logins := 0
	for name, text := range files(t) {
		for _, m := range secretRef.FindAllStringSubmatch(text, -1) {
			assert.Equal(t, "GITHUB_TOKEN", m[1], "%s reads a stored secret", name)
		}
		w := parse(t, text)
		for job, j := range w.Jobs {
			for _, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "google-github-actions/auth@") {
					continue
				}
				logins++
				assert.Contains(t, s.With, "workload_identity_provider", "%s/%s", name, job)
				assert.NotContains(t, s.With, "credentials_json", "%s/%s", name, job)
				assert.Equal(t, "write", w.Permissions["id-token"], "%s needs id-token: write for workload identity", name)
			}
		}
	}
	assert.GreaterOrEqual(t, logins, 5)
}

// TestPlaygroundWorkflowFollowsTheBranchConvention ties the workflow's triggers to the naming code.
func TestPlaygroundWorkflowFollowsTheBranchConvention(t *testing.T) {
	text := files(t)["playground.yml"]
	w := parse(t, text)
	push, _ := w.On["push"].(map[string]any)
	assert.Equal(t, []any{playground.BranchPrefix + "**"}, push["branches"])
	assert.Contains(t, w.On, "delete")
	assert.Contains(t, w.Jobs["down"].If, "startsWith(github.event.ref, '"+playground.BranchPrefix+"')")
	assert.Contains(t, w.Jobs["down"].If, "github.event.pull_request.merged")
	assert.Contains(t, w.Jobs["up"].If, "!github.event.deleted", "a deleted branch's push event must not bring its playground back")
	assert.Contains(t, text, "playground up --branch")
	assert.Contains(t, text, "playground down --branch")
}

// TestPreviewCommentsBothStacksAndProdNeedsApproval: the PR preview covers sandbox and prod with a
// diff comment; prod is updated only after sandbox, behind the prod environment's approval.
func TestPreviewCommentsBothStacksAndProdNeedsApproval(t *testing.T) {
	all := files(t)
	assert.Contains(t, all["preview.yml"], "stack: [sandbox, prod]")
	assert.Contains(t, all["preview.yml"], "comment-on-pr: true")
	var deploy struct {
		Jobs map[string]struct {
			Needs       any    `json:"needs"`
			Environment string `json:"environment"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(all["deploy.yml"]), &deploy))
	assert.Equal(t, "sandbox", deploy.Jobs["prod"].Needs)
	assert.Equal(t, "prod", deploy.Jobs["prod"].Environment)
	assert.Contains(t, all["playground-reaper.yml"], "playground reap")
	assert.Contains(t, all["playground-reaper.yml"], "playground report")
	assert.Contains(t, all["images.yml"], "cmd/dnssync/Dockerfile")
}
