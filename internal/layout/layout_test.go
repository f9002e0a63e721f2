// Package layout holds the tests that keep the repository's layers apart (docs/architecture.md):
// which packages may import which, and how long a file may grow.
package layout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/shoestring-dev/shoestring"

// maxLines is the longest a non-test Go file may be: past it a file holds more than one idea.
const maxLines = 500

type pkg struct {
	ImportPath   string
	Imports      []string // non-test code
	TestImports  []string
	XTestImports []string
}

// rel is a package's path inside the module ("" for an outside package).
func rel(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// rule is one import rule: for a package it applies to, ok says whether it may import ours.
type rule struct {
	name    string
	applies func(p string) bool
	ok      func(imp string) bool
	test    bool // also checks test imports
}

// Packages that are tools, not products, may use test support: a measurement script runs the
// controller against the Cloudflare fake on purpose.
var tools = []string{"internal/dnssync/cmd/measure"}

func isTool(p string) bool {
	for _, t := range tools {
		if under(p, t) {
			return true
		}
	}
	return false
}

// dnsGrammar is where the zone id, owner id and DNS names the controller and the program both
// check are written once.
const dnsGrammar = "internal/dnssync/grammar"

var rules = []rule{
	{name: "components import only components", applies: func(p string) bool { return under(p, "components") },
		ok: func(imp string) bool { return under(imp, "components") }},
	{name: "stacks imports nothing of ours but the DNS-sync controller's grammar (a leaf)", applies: func(p string) bool { return under(p, "stacks") },
		ok: func(imp string) bool { return under(imp, "stacks") || under(imp, dnsGrammar) }},
	{name: "internal/dnssync/grammar is a leaf (the controller's flags' grammar; the program checks the same values)",
		applies: func(p string) bool { return under(p, dnsGrammar) },
		ok:      func(imp string) bool { return under(imp, dnsGrammar) }},
	{name: "internal/cost is a leaf (a price table; the program and the tools use it)",
		applies: func(p string) bool { return under(p, "internal/cost") },
		ok:      func(imp string) bool { return under(imp, "internal/cost") }},
	{name: "infra/program imports only stacks, components and the price table", applies: func(p string) bool { return under(p, "infra/program") },
		ok: func(imp string) bool {
			return under(imp, "infra/program") || under(imp, "stacks") || under(imp, "components") || under(imp, "internal/cost")
		}},
	{name: "the DNS-sync controller knows nothing of the Pulumi program", applies: func(p string) bool { return under(p, "internal/dnssync") || under(p, "cmd/dnssync") },
		ok: func(imp string) bool {
			return !under(imp, "stacks") && !under(imp, "components") && !under(imp, "infra") && !under(imp, "bootstrap")
		}},
	{name: "only tests and tools use test support (internal/testing)", applies: func(p string) bool { return !under(p, "internal/testing") && !isTool(p) },
		ok: func(imp string) bool { return !under(imp, "internal/testing") }},
	{name: "commands are imported by nobody", applies: func(p string) bool { return true }, test: true,
		ok: func(imp string) bool { return !under(imp, "cmd") }},
}

// violations lists every import of ours that breaks a rule, naming the package, the import and
// the rule.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		self, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		check := func(imports []string, test bool) {
			for _, full := range imports {
				imp, ours := rel(full)
				if !ours || imp == self {
					continue
				}
				for _, r := range rules {
					if (test && !r.test) || !r.applies(self) || r.ok(imp) {
						continue
					}
					what := "imports"
					if test {
						what = "imports (in a test)"
					}
					out = append(out, fmt.Sprintf("%s %s %s: the rule is %q", self, what, imp, r.name))
				}
			}
		}
		check(p.Imports, false)
		check(append(append([]string{}, p.TestImports...), p.XTestImports...), true)
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = repoRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages: is the test running in the repository?", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// The rules do fail: a package list with one breach of each yields one message naming it.
func TestImportRulesNameTheOffendingImport(t *testing.T) {
	ours := func(p string) string { return module + "/" + p }
	bad := []pkg{
		{ImportPath: ours("components/edge"), Imports: []string{ours("stacks"), "fmt"}},
		{ImportPath: ours("stacks"), Imports: []string{ours("internal/playground")}},
		{ImportPath: ours("infra/program"), Imports: []string{ours("internal/engine")}},
		{ImportPath: ours("internal/engine"), Imports: []string{ours("internal/testing/pulumimock")}},
		{ImportPath: ours("internal/dnssync"), Imports: []string{ours("stacks")}},
		{ImportPath: ours("internal/dnssync/grammar"), Imports: []string{ours("internal/dnssync")}},
		{ImportPath: ours("stacks"), Imports: []string{ours("internal/dnssync")}},
		{ImportPath: ours("internal/engine"), TestImports: []string{ours("cmd/shoestring")}},
	}
	got := violations(bad)
	want := []string{
		"components/edge imports stacks",
		"stacks imports internal/playground",
		"infra/program imports internal/engine",
		"internal/engine imports internal/testing/pulumimock",
		"internal/dnssync imports stacks",
		"internal/dnssync/grammar imports internal/dnssync",
		"stacks imports internal/dnssync",
		"internal/engine imports (in a test) cmd/shoestring",
	}
	if len(got) != len(want) {
		t.Fatalf("want %d violations, got %d:\n%s", len(want), len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]+":") {
			t.Errorf("violation %d: want %q..., got %q", i, want[i], got[i])
		}
	}
	allowed := []pkg{
		{ImportPath: ours("internal/dnssync/cmd/measure"), Imports: []string{ours("internal/testing/cloudflarefake")}},
		{ImportPath: ours("internal/engine"), TestImports: []string{ours("internal/testing/pulumimock")}},
		{ImportPath: ours("infra/program"), Imports: []string{ours("stacks"), ours("components/edge"), ours("internal/cost")}},
		{ImportPath: ours("stacks"), Imports: []string{ours("internal/dnssync/grammar")}},
		{ImportPath: ours("internal/dnssync"), Imports: []string{ours("internal/dnssync/grammar")}},
	}
	if v := violations(allowed); len(v) > 0 {
		t.Errorf("allowed imports reported: %v", v)
	}
}

func TestNoLongFiles(t *testing.T) {
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".state", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		n, err := countLines(path)
		if err != nil {
			return err
		}
		if n > maxLines {
			r, _ := filepath.Rel(root, path)
			t.Errorf("%s has %d lines; split it along a seam (non-test Go files stay within %d)", r, n, maxLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for s.Scan() {
		n++
	}
	return n, s.Err()
}
