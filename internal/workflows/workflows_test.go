package workflows

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/shoestring-dev/shoestring/components/cluster"
	"github.com/shoestring-dev/shoestring/stacks"
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
	assert.Equal(t, []any{stacks.PlaygroundBranchPrefix + "**"}, push["branches"])
	assert.Contains(t, w.On, "delete")
	assert.Contains(t, w.Jobs["down"].If, "startsWith(github.event.ref, '"+stacks.PlaygroundBranchPrefix+"')")
	assert.Contains(t, w.Jobs["down"].If, "github.event.pull_request.merged")
	assert.Contains(t, w.Jobs["up"].If, "!github.event.deleted", "a deleted branch's push event must not bring its playground back")
	assert.Contains(t, text, "playground up --branch")
	assert.Contains(t, text, "playground down --branch")
}

// TestPreviewCommentsBothStacksAndProdNeedsApproval: the PR preview covers sandbox and prod with a
// diff comment; prod is updated only after sandbox, behind the prod environment's approval.
func TestPreviewCommentsBothStacksAndProdNeedsApproval(t *testing.T) {
	all := files(t)
	assert.Contains(t, all["preview.yml"], "stack: [sandbox]", "a pull request's code never runs with the prod identity")
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
}

// optionalVars are repository variables a workflow runs without (a step is skipped when unset).
var optionalVars = []string{"PLAYGROUND_REPORT_ISSUE"}

var varRef = regexp.MustCompile(`vars\.([A-Za-z_][A-Za-z0-9_]*)`)

func varsIn(v any) []string {
	b, _ := yaml.Marshal(v)
	seen := map[string]bool{}
	for _, m := range varRef.FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(optionalVars, m[1]) {
			seen[m[1]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestEveryJobChecksItsRepositoryVariablesFirst: a run on a repository without the variables the
// workflows read fails in its first step, naming every missing one, instead of failing later with
// an empty registry or provider. The step's own script is run here: without the variables, with
// some, and with all of them.
func TestEveryJobChecksItsRepositoryVariablesFirst(t *testing.T) {
	checked := 0
	for name, text := range files(t) {
		var w struct {
			Env  map[string]any `json:"env"`
			Jobs map[string]struct {
				Uses  string           `json:"uses"`
				Steps []map[string]any `json:"steps"`
			} `json:"jobs"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(text), &w), name)
		var jobsRaw map[string]any
		var raw map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(text), &raw))
		jobsRaw, _ = raw["jobs"].(map[string]any)
		for job, j := range w.Jobs {
			if j.Uses != "" {
				continue // a reusable workflow checks its own
			}
			want := varsIn([]any{w.Env, jobsRaw[job]})
			if len(want) == 0 {
				continue
			}
			checked++
			first := j.Steps[0]
			require.Equal(t, "Repository variables", first["name"], "%s/%s: the first step checks the variables %v", name, job, want)
			env, _ := first["env"].(map[string]any)
			var got []string
			for k, v := range env {
				assert.Equal(t, "${{ vars."+k+" }}", v, "%s/%s", name, job)
				got = append(got, k)
			}
			sort.Strings(got)
			assert.Equal(t, want, got, "%s/%s checks exactly the variables it reads", name, job)

			script, _ := first["run"].(string)
			run := func(set map[string]string) (string, error) {
				cmd := exec.Command("bash", "-e", "-c", script)
				cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
				for k, v := range set {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				return out.String(), err
			}
			out, err := run(nil)
			require.Error(t, err, "%s/%s passes without its variables", name, job)
			assert.Contains(t, out, "::error title=Repository variables missing::"+strings.Join(want, " ")+":", "%s/%s", name, job)
			all := map[string]string{}
			for _, v := range want {
				all[v] = "set"
			}
			if len(want) > 1 {
				delete(all, want[len(want)-1])
				out, err = run(all)
				require.Error(t, err)
				assert.Contains(t, out, "missing::"+want[len(want)-1]+":", "only the missing one is named")
				all[want[len(want)-1]] = "set"
			}
			out, err = run(all)
			assert.NoError(t, err, "%s/%s with every variable: %s", name, job, out)
		}
	}
	assert.GreaterOrEqual(t, checked, 9, "deploy, preview, images, playground and reaper jobs")
}

// TestImagesReachUp: the images workflow builds what `shoestring images list` names (every service
// folder with a Dockerfile, and dnssync) tagged with the commit; deploy pushes them first and pins
// them in each stack before its up; a playground builds the changed services' images first and
// passes registry and tag to playground up.
func TestImagesReachUp(t *testing.T) {
	all := files(t)
	var images struct {
		On   map[string]any `json:"true"`
		Jobs map[string]struct {
			Needs    any `json:"needs"`
			Strategy struct {
				Matrix map[string]any `json:"matrix"`
			} `json:"strategy"`
			Steps []struct {
				Uses string            `json:"uses"`
				Run  string            `json:"run"`
				With map[string]any    `json:"with"`
				Env  map[string]string `json:"env"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(all["images.yml"]), &images))
	assert.Contains(t, images.On, "workflow_call")
	assert.Contains(t, images.On, "pull_request")
	plan := images.Jobs["plan"]
	var list string
	for _, s := range plan.Steps {
		if strings.Contains(s.Run, "images list") {
			list = s.Run
			assert.Equal(t, "${{ github.sha }}", s.Env["TAG"], "tagged with the commit")
		}
	}
	assert.Contains(t, list, "--tag \"$TAG\"")
	assert.Equal(t, "${{ fromJSON(needs.plan.outputs.builds) }}", images.Jobs["build"].Strategy.Matrix["include"])
	var build map[string]any
	for _, s := range images.Jobs["build"].Steps {
		if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
			build = s.With
		}
	}
	assert.Equal(t, map[string]any{"context": "${{ matrix.context }}", "file": "${{ matrix.dockerfile }}",
		"push": "${{ github.event_name != 'pull_request' }}", "tags": "${{ matrix.image }}"}, build)

	var deploy struct {
		Jobs map[string]struct {
			Uses  string `json:"uses"`
			Needs any    `json:"needs"`
			Steps []struct {
				Uses string         `json:"uses"`
				Run  string         `json:"run"`
				With map[string]any `json:"with"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(all["deploy.yml"]), &deploy))
	assert.Equal(t, "./.github/workflows/images.yml", deploy.Jobs["images"].Uses)
	assert.Equal(t, "images", deploy.Jobs["sandbox"].Needs)
	for _, stack := range []string{"sandbox", "prod"} {
		pinned, up := -1, -1
		for i, s := range deploy.Jobs[stack].Steps {
			// Pinned by digest (--resolve), after a registry login the digests are read with.
			if strings.Contains(s.Run, "images pin --resolve --stack "+stack) && strings.Contains(s.Run, "images list --stack "+stack) {
				pinned = i
			}
			if strings.HasPrefix(s.Uses, "pulumi/actions@") && s.With["command"] == "up" {
				up = i
				assert.Equal(t, stack, s.With["stack-name"])
			}
		}
		assert.True(t, pinned >= 0 && pinned < up, "%s: images pinned (step %d) before up (step %d)", stack, pinned, up)
		login := -1
		for i, s := range deploy.Jobs[stack].Steps {
			if strings.Contains(s.Run, "docker login") {
				login = i
			}
		}
		assert.True(t, login >= 0 && login < pinned, "%s: a registry login (step %d) before the pin (step %d)", stack, login, pinned)
	}

	play := all["playground.yml"]
	var pw struct {
		Jobs map[string]struct {
			Uses  string            `json:"uses"`
			Needs any               `json:"needs"`
			With  map[string]string `json:"with"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(play), &pw))
	assert.Equal(t, "./.github/workflows/images.yml", pw.Jobs["images"].Uses)
	assert.Equal(t, "origin/main", pw.Jobs["images"].With["changed-from"])
	assert.Equal(t, "images", pw.Jobs["up"].Needs)
	assert.Contains(t, play, `--changed-from origin/main --image-registry "$REGISTRY" --image-tag "$TAG"`)
}

// clusterStep is a step of a job as far as reaching a cluster goes.
type clusterStep struct {
	Uses string         `json:"uses"`
	Run  string         `json:"run"`
	With map[string]any `json:"with"`
}

// TestEveryJobThatTalksToAClusterCanAuthenticate: a GKE stack's kubeconfig (the one
// components/cluster writes) runs an exec plugin, which must be on the runner before Pulumi uses
// it; the playground commands use the kubeconfig get-gke-credentials writes, which holds a
// short-lived token unless use_auth_provider asks for the plugin.
func TestEveryJobThatTalksToAClusterCanAuthenticate(t *testing.T) {
	var kc struct {
		Users []struct {
			User struct {
				Exec struct {
					Command string `json:"command"`
				} `json:"exec"`
			} `json:"user"`
		} `json:"users"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(cluster.Kubeconfig("c", "10.0.0.1", "Y2E=")), &kc))
	require.Len(t, kc.Users, 1)
	plugin := kc.Users[0].User.Exec.Command
	require.NotEmpty(t, plugin, "the GKE kubeconfig authenticates with an exec plugin")

	checked := 0
	for name, text := range files(t) {
		var w struct {
			Jobs map[string]struct {
				Steps []clusterStep `json:"steps"`
			} `json:"jobs"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(text), &w))
		for job, j := range w.Jobs {
			pluginInstalled, tokenKubeconfig := false, false
			for _, s := range j.Steps {
				switch {
				case strings.HasPrefix(s.Uses, "google-github-actions/setup-gcloud@"):
					comps, _ := s.With["install_components"].(string)
					pluginInstalled = pluginInstalled || slices.Contains(strings.Split(strings.ReplaceAll(comps, " ", ""), ","), plugin)
				case strings.HasPrefix(s.Uses, "google-github-actions/get-gke-credentials@"):
					tokenKubeconfig = s.With["use_auth_provider"] != true && s.With["use_auth_provider"] != "true"
				case strings.HasPrefix(s.Uses, "pulumi/actions@") && s.With["stack-name"] != nil:
					checked++
					assert.True(t, pluginInstalled, "%s/%s runs pulumi %v on a GKE stack before installing %s (setup-gcloud install_components)",
						name, job, s.With["command"], plugin)
				case strings.Contains(s.Run, "shoestring playground "):
					checked++
					assert.True(t, tokenKubeconfig || pluginInstalled,
						"%s/%s reaches the sandbox cluster without a token kubeconfig (get-gke-credentials) or %s", name, job, plugin)
				}
			}
		}
	}
	assert.GreaterOrEqual(t, checked, 7, "preview, the two ups and the playground jobs are checked")
}
