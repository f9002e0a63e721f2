package toolscript

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repo is the checkout these tests run in.
func repo(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// sdkVersion is the kubernetes plugin version tools.sh asks for: go.mod's pulumi-kubernetes SDK.
func sdkVersion(t *testing.T, root string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "github.com/pulumi/pulumi-kubernetes/sdk/v4" {
			return strings.TrimPrefix(fields[1], "v")
		}
	}
	t.Fatal("go.mod does not require github.com/pulumi/pulumi-kubernetes/sdk/v4")
	return ""
}

// machine is a user's machine as tools.sh sees it: an empty tools cache, a Pulumi CLI on PATH
// (a script answering `version` and `plugin ls --json` with the kubernetes plugin at
// pluginVersion) and a `go` that records every command it runs and runs only the real one's
// read-only commands.
type machine struct {
	root, tools, bin, goLog, pulumiLog string
	env                                []string
}

func newMachine(t *testing.T, pluginVersion string) *machine {
	t.Helper()
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	tmp := t.TempDir()
	m := &machine{
		root: repo(t), tools: filepath.Join(tmp, "tools"), bin: filepath.Join(tmp, "bin"),
		goLog: filepath.Join(tmp, "go.log"), pulumiLog: filepath.Join(tmp, "pulumi.log"),
	}
	if err := os.MkdirAll(m.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(m.bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A build or download is refused, so a test that goes wrong fails at once instead of
	// compiling a tool for minutes.
	write("go", `echo "$*" >>`+m.goLog+`
case "$1" in
  build|run|install|get|mod) echo "fake go: refusing go $* in this test" >&2; exit 1 ;;
esac
exec `+realGo+` "$@"
`)
	// The JSON has the layout of the real CLI's `plugin ls --json` (pretty-printed, these keys).
	write("pulumi", `echo "$*" >>`+m.pulumiLog+`
case "$1 $2" in
  "version "*) echo v3.259.0 ;;
  "plugin ls") cat <<'JSON'
[
  {
    "name": "kubernetes",
    "kind": "resource",
    "version": "`+pluginVersion+`",
    "size": 166715554,
    "installTime": "2026-12-04T00:17:48.599Z",
    "lastUsedTime": "2026-12-04T03:01:22.290Z"
  }
]
JSON
  ;;
  *) echo "fake pulumi: unexpected: $*" >&2; exit 1 ;;
esac
`)
	m.env = append(os.Environ(),
		"PATH="+m.bin+":/usr/bin:/bin",
		"SHOESTRING_TOOLS="+m.tools,
		"PULUMI_HOME="+filepath.Join(tmp, "pulumi-home"),
		"SHOESTRING_BUILD_PULUMI=",
	)
	return m
}

// run runs scripts/tools.sh with args and returns its output.
func (m *machine) run(t *testing.T, extraEnv []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(m.root, "scripts", "tools.sh"), args...)
	cmd.Dir = m.root
	cmd.Env = append(append([]string{}, m.env...), extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tools.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// builtNothing fails when tools.sh built or fetched anything: a build folder in the tools cache,
// or a go command other than reading go.mod (`go list -m`).
func (m *machine) builtNothing(t *testing.T) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(m.tools, "*"))
	for _, d := range dirs {
		if filepath.Base(d) != "bin" {
			t.Errorf("the tools cache has a build folder %s: something was built", d)
		}
	}
	links, _ := filepath.Glob(filepath.Join(m.tools, "bin", "*"))
	if len(links) > 0 {
		t.Errorf("the tools cache's bin has %v: something was built", links)
	}
	log, err := os.ReadFile(m.goLog)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		if l != "" && !strings.HasPrefix(l, "list -m ") {
			t.Errorf("tools.sh ran `go %s`; want only `go list -m` (the plugin version)", l)
		}
	}
	if calls, _ := os.ReadFile(m.pulumiLog); strings.Contains(string(calls), "plugin install") {
		t.Errorf("tools.sh installed a plugin: %s", calls)
	}
}

func contains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// A user who has the Pulumi CLI and the kubernetes plugin the program's SDK asks for builds
// neither: tools.sh says it uses them, and nothing is compiled or installed.
func TestToolsUsesTheCLIAndPluginOnPath(t *testing.T) {
	m := newMachine(t, sdkVersion(t, repo(t)))
	v := sdkVersion(t, m.root)
	out := m.run(t, nil, "pulumi", "kubernetes-provider")
	cli := filepath.Join(m.bin, "pulumi")
	contains(t, out,
		"tools: plan: already there: pulumi (the CLI on PATH: "+cli+"), kubernetes-provider (the kubernetes plugin v"+v+" is installed)",
		"tools: plan: nothing to build",
		"tools: using the Pulumi CLI on PATH: "+cli+" (v3.259.0)",
		"tools: the kubernetes plugin v"+v+" is installed ("+cli+" plugin ls)",
	)
	if strings.Contains(out, "tools: building") {
		t.Errorf("tools.sh built something:\n%s", out)
	}
	m.builtNothing(t)
}

// The plugin at another version than the SDK's is not the one the program needs: the plan says
// the provider is to build (and the CLI on PATH is still used); --plan itself builds nothing.
func TestToolsPlansTheProviderWhenThePluginVersionDiffers(t *testing.T) {
	m := newMachine(t, "4.0.0")
	v := sdkVersion(t, m.root)
	out := m.run(t, nil, "--plan", "pulumi", "kubernetes-provider")
	contains(t, out,
		"tools: plan: already there: pulumi (the CLI on PATH: "+filepath.Join(m.bin, "pulumi")+")",
		"tools: plan: kubernetes-provider: to build, no kubernetes plugin v"+v+" installed (usually 593 s on 2 cores)",
		"tools: plan: 1 to build (kubernetes-provider): usually about 10 minutes on 2 cores",
	)
	if strings.Contains(out, "pulumi: to build") {
		t.Errorf("the plan builds the Pulumi CLI although one is on PATH:\n%s", out)
	}
	m.builtNothing(t)
}

// SHOESTRING_BUILD_PULUMI=1 asks for the pinned CLI even with one on PATH; with an empty cache
// every tool is planned with its usual time, and the total.
func TestToolsPlanOfAnEmptyCache(t *testing.T) {
	m := newMachine(t, sdkVersion(t, repo(t)))
	out := m.run(t, []string{"SHOESTRING_BUILD_PULUMI=1"}, "--plan", "kube", "etcd", "pulumi", "kubernetes-provider")
	contains(t, out,
		"tools: plan: kube: to build, not in "+m.tools+" (usually 764 s on 2 cores)",
		"tools: plan: etcd: to build, not in "+m.tools+" (usually 57 s on 2 cores)",
		"tools: plan: pulumi: to build, no Pulumi CLI on PATH used (SHOESTRING_BUILD_PULUMI is set) (usually 284 s on 2 cores)",
		"tools: plan: kubernetes-provider: to build, no kubernetes plugin v",
		// 764 + 57 + 284 + 593 s.
		"tools: plan: 4 to build (kube etcd pulumi kubernetes-provider): usually about 28 minutes on 2 cores",
	)
	m.builtNothing(t)
}
