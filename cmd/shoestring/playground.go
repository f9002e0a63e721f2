package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shoestring-dev/shoestring/infra/program"
	"github.com/shoestring-dev/shoestring/internal/engine"
	"github.com/shoestring-dev/shoestring/internal/playground"
	"github.com/shoestring-dev/shoestring/internal/playground/lifecycle"
	"github.com/shoestring-dev/shoestring/stacks"
)

func init() {
	register("playground", command{
		summary: "per-branch playgrounds: up, down, list, report, reap (Pulumi Automation API)",
		run:     runPlayground,
	})
}

const playgroundUsage = `usage: shoestring playground <up|down|list|report|reap> [flags]

  up      create or update the playground of a play/<feature> branch: the changed services and the
          gateway, in namespace play-<feature> on the base stack's cluster
  down    destroy a playground and remove its stack
  list    the playgrounds with branch and age
  report  what each playground costs: its pods' requested CPU and memory at the node price
  reap    destroy playgrounds whose branch is gone or that are older than playground.maxAge

The Pulumi backend and secrets come from the environment (PULUMI_BACKEND_URL,
PULUMI_CONFIG_PASSPHRASE or a cloud secrets provider; SHOESTRING_SECRETS_PROVIDER for new stacks).
Run "shoestring playground <command> -h" for its flags.`

func runPlayground(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, playgroundUsage)
		if len(args) == 0 {
			return errors.New("missing playground command")
		}
		return flag.ErrHelp
	}
	ctx := context.Background()
	switch args[0] {
	case "up":
		return playgroundUp(ctx, args[1:])
	case "down":
		return playgroundDown(ctx, args[1:])
	case "list":
		return playgroundList(ctx, args[1:])
	case "report":
		return playgroundReport(ctx, args[1:])
	case "reap":
		return playgroundReap(ctx, args[1:])
	}
	return fmt.Errorf("unknown playground command %q: want up, down, list, report or reap", args[0])
}

// commonFlags are the flags every playground command takes.
type commonFlags struct {
	project    string
	base       string
	pulumiRoot string
	local      bool
	state      string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.project, "project", ".", "folder with Pulumi.yaml and the base stack's Pulumi.<base>.yaml")
	fs.StringVar(&c.base, "base", "sandbox", "the base stack playgrounds are made from (its cluster, services and config)")
	fs.StringVar(&c.pulumiRoot, "pulumi-root", "", "folder whose bin/pulumi to use (default: pulumi on PATH, else $SHOESTRING_TOOLS)")
	fs.BoolVar(&c.local, "local", false, "the base is a local stack (`make up`'s dev, or `shoestring up --stack S`): use its state under --state")
	fs.StringVar(&c.state, "state", ".state/pulumi", "with --local: the local stacks' state folder")
}

// baseDir is the folder holding Pulumi.yaml and the base's stack file: the project, or for a local
// base the engine's work copy (which also carries the base's local secrets).
func (c *commonFlags) baseDir() string {
	if c.local {
		return engine.WorkDir(c.state, c.base)
	}
	return c.project
}

// baseConfig reads the base stack's file with the check every command makes (a playground deploys
// to the base's cluster, with its secrets).
func (c *commonFlags) baseConfig() (*stacks.Config, error) {
	cfg, _, err := stacks.CheckStackFile(filepath.Join(c.baseDir(), "Pulumi."+c.base+".yaml"))
	if err != nil {
		return nil, err // it names the base's file, the same message as every command's
	}
	return cfg, nil
}

func (c *commonFlags) manager() (*lifecycle.Manager, error) {
	opts := lifecycle.Options{
		ProjectDir: c.baseDir(), Program: playgroundProgram, PulumiRoot: pulumiRoot(c.pulumiRoot),
		SecretsProvider: os.Getenv("SHOESTRING_SECRETS_PROVIDER"), Progress: os.Stderr,
	}
	if c.local {
		env, err := engine.LocalEnv(c.state)
		if err != nil {
			return nil, err
		}
		opts.Env = env
	}
	return lifecycle.New(opts)
}

func toolsDir() string {
	if d := os.Getenv("SHOESTRING_TOOLS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "shoestring", "tools")
}

// playgroundProgram is the shoestring program: it reads the playground stack's config through
// the engine like every stack (stacks.Load).
func playgroundProgram(map[string]playground.ConfigEntry) pulumi.RunFunc { return program.Run }

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func playgroundUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("playground up", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	branch := fs.String("branch", "", "the play/<feature> branch (default: the current git branch)")
	services := fs.String("services", "", "comma-separated services the branch changes (instead of --changed-from)")
	changedFrom := fs.String("changed-from", "", "git ref to diff against (e.g. origin/main): changed files pick the services, by the folders of playground.sources that exist")
	imageRegistry := fs.String("image-registry", "", "with --changed-from: run each changed service's image <registry>/<service>:<image-tag>, built from the branch")
	imageTag := fs.String("image-tag", "", "the tag of the branch's images, normally the commit")
	kubeconfig := fs.String("kubeconfig", defaultKubeconfig(), "kubeconfig of the base stack's cluster")
	var images, devModeServices listFlag
	fs.Var(&images, "image", "service=image built from the branch (repeatable)")
	fs.Var(&devModeServices, "dev-mode", "run this deployed service in dev mode: service or service:/code/path (repeatable; the base stack must allow dev mode)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *branch == "" {
		b, err := gitOutput(common.project, "rev-parse", "--abbrev-ref", "HEAD")
		if err != nil {
			return fmt.Errorf("--branch not given and the current branch is unknown: %w", err)
		}
		*branch = strings.TrimSpace(b)
	}
	name, err := stacks.PlaygroundForBranch(*branch)
	if err != nil {
		return err
	}
	base, err := common.baseConfig()
	if err != nil {
		return err
	}
	var changed []string
	imageOf := map[string]string{}
	switch {
	case *services != "" && *changedFrom != "":
		return errors.New("give either --services or --changed-from, not both")
	case (*imageRegistry != "" || *imageTag != "") && *changedFrom == "":
		return errors.New("--image-registry and --image-tag go with --changed-from (they name the images of the changed services)")
	case (*imageRegistry == "") != (*imageTag == ""):
		return errors.New("give --image-registry and --image-tag together")
	case *services != "":
		for _, s := range strings.Split(*services, ",") {
			if s = strings.TrimSpace(s); s != "" {
				changed = append(changed, s)
			}
		}
	case *changedFrom != "":
		sel, err := branchImages(base, common.project, *changedFrom, *imageRegistry, *imageTag, os.Stderr)
		if err != nil {
			return err
		}
		changed, imageOf = sel.Changed, sel.Images
	}
	for _, kv := range images { // explicit images win over the branch's
		svc, img, ok := strings.Cut(kv, "=")
		if !ok || svc == "" || img == "" {
			return fmt.Errorf("--image %q: write service=image", kv)
		}
		imageOf[svc] = img
	}
	kc, err := filepath.Abs(*kubeconfig)
	if err != nil {
		return err
	}
	m, err := common.manager()
	if err != nil {
		return err
	}
	res, err := m.Up(ctx, common.base, playground.Spec{Name: name, Changed: changed, Images: imageOf, Kubeconfig: kc, Created: time.Now(), DevMode: devModeServices})
	if err != nil {
		return err
	}
	fmt.Printf("playground %s (branch %s)\n  namespace: %s\n  services:  %s\n", res.Name.Stack, res.Name.Branch, res.Name.Namespace, strings.Join(res.Services, ", "))
	if base.Edge.Playgrounds.Domain != "" {
		fmt.Printf("  url:       http://%s/\n", res.Name.Host(base.Edge.Playgrounds.Domain))
	}
	for _, key := range []string{"devMode", "telepresence"} {
		if o, ok := res.Outputs[key]; ok {
			fmt.Printf("\n%s:\n%s\n", key, indentOutput(o.Value))
		}
	}
	return nil
}

// branchImages selects what the playground of the checked-out branch runs of its own: the services
// whose existing folder the branch changes since base, with their images built from the branch
// when a registry and tag are given. Services without a folder are named on log: nothing selects them.
func branchImages(base *stacks.Config, root, changedFrom, registry, tag string, log io.Writer) (playground.BranchImages, error) {
	var names []string
	for _, s := range base.Services {
		names = append(names, s.Name)
	}
	src := playground.FindSources(root, names, base.Playground.SourceOf)
	for _, svc := range sortedKeys(src.Missing) {
		fmt.Fprintf(log, "playground: service %s has no folder %s in the repository: a branch cannot change it (set shoestring:playground.sources.%s)\n", svc, src.Missing[svc], svc)
	}
	files, err := playground.ChangedFiles(root, changedFrom)
	if err != nil {
		return playground.BranchImages{}, fmt.Errorf("listing the files the branch changes: %w", err)
	}
	return playground.SelectBranch(root, files, src, registry, tag)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func indentOutput(v any) string {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s:\n", k)
			for _, line := range strings.Split(strings.TrimRight(indentOutput(t[k]), "\n"), "\n") {
				fmt.Fprintf(&b, "  %s\n", line)
			}
		}
		return b.String()
	default:
		return fmt.Sprintf("  %v", t)
	}
}

func playgroundDown(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("playground down", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	branch := fs.String("branch", "", "the play/<feature> branch whose playground to remove")
	stack := fs.String("stack", "", "or the playground stack's name (play-<feature>)")
	ifExists := fs.Bool("if-exists", false, "succeed when the playground is already gone (a merged PR's branch is often deleted too: two events, one playground)")
	_ = fs.String("kubeconfig", defaultKubeconfig(), "unused by the command: destroy uses the kubeconfig path recorded by up, which must exist (CI keeps it at ~/.kube/sandbox)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	name := *stack
	if *branch != "" {
		n, err := stacks.PlaygroundForBranch(*branch)
		if err != nil {
			return err
		}
		name = n.Stack
	}
	if name == "" {
		return errors.New("give --branch play/<feature> or --stack play-<feature>")
	}
	if !stacks.IsPlaygroundStack(name) {
		return fmt.Errorf("%q is not a playground stack (their names start with %q): refusing to destroy it", name, stacks.PlaygroundNamePrefix)
	}
	m, err := common.manager()
	if err != nil {
		return err
	}
	if err := m.Down(ctx, name); err != nil {
		if *ifExists && errors.Is(err, lifecycle.ErrNoSuchPlayground) {
			fmt.Printf("playground %s is already gone\n", name)
			return nil
		}
		return err
	}
	fmt.Printf("playground %s destroyed and its stack removed\n", name)
	return nil
}

func defaultKubeconfig() string {
	if k := os.Getenv("KUBECONFIG"); k != "" {
		return strings.Split(k, string(os.PathListSeparator))[0]
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kube", "config")
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", err
	}
	return string(out), nil
}
