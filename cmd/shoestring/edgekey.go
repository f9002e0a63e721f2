package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/stacks"
)

func init() {
	register("edge-key", command{
		summary: "make the edge's Origin CA key and request once, as secrets of a stack (edge.certificate.source originCA)",
		run:     func(args []string) error { return edgeKey(args, os.Stdout) },
	})
}

// edgeKey makes the key pair the Origin CA certificate is issued for and stores the key and its
// request as secrets of the stack with the Pulumi CLI (`pulumi config set --secret`, the value on
// standard input): the key is never printed, written to a file or passed as an argument. It refuses
// to replace an existing key without --rotate, since the key must stay the same across updates.
func edgeKey(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("edge-key", flag.ContinueOnError)
	stack := fs.String("stack", "", "the stack whose Pulumi.<stack>.yaml gets the secrets (required)")
	project := fs.String("project", ".", "folder with Pulumi.yaml and the stack file")
	rotate := fs.Bool("rotate", false, "replace an existing key (the next up requests a new certificate)")
	pulumiBin := fs.String("pulumi", "", "the Pulumi CLI (default: pulumi on PATH, else $SHOESTRING_TOOLS/bin/pulumi)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stack == "" {
		return fmt.Errorf("--stack is required: the stack whose edge serves the Origin CA certificate, e.g. --stack sandbox")
	}
	file := filepath.Join(*project, "Pulumi."+*stack+".yaml")
	has, err := hasEdgeKey(file)
	if err != nil {
		return err
	}
	if has && !*rotate {
		return fmt.Errorf("%s already has shoestring:secrets.%s.%s: the key must stay the same across updates; pass --rotate to replace it (the next up requests a new certificate for the new key)",
			file, stacks.EdgeSecretGroup, stacks.EdgeOriginCAKeyName)
	}
	bin, err := findPulumi(*pulumiBin)
	if err != nil {
		return err
	}
	key, csr, err := edge.NewOriginKey()
	if err != nil {
		return err
	}
	for _, s := range []struct{ name, value string }{{stacks.EdgeOriginCAKeyName, key}, {stacks.EdgeOriginCACSRName, csr}} {
		path := fmt.Sprintf("%s:secrets.%s.%s", stacks.Namespace, stacks.EdgeSecretGroup, s.name)
		cmd := exec.Command(bin, "config", "set", "--secret", "--path", "--stack", *stack, "--non-interactive", path)
		cmd.Dir = *project
		cmd.Stdin = strings.NewReader(s.value)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("pulumi config set %s: %w: %s", path, err, strings.TrimSpace(string(b)))
		}
	}
	fmt.Fprintf(out, "edge-key: stored a new ECDSA P-256 key and its certificate request as shoestring:secrets.%s.%s and .%s of stack %s (encrypted in %s).\n",
		stacks.EdgeSecretGroup, stacks.EdgeOriginCAKeyName, stacks.EdgeOriginCACSRName, *stack, file)
	fmt.Fprintf(out, "next: set shoestring:edge.certificate.source: %s and certificateSecret in %s, and the token:\n  pulumi config set --secret --path 'shoestring:secrets.%s.%s' --stack %s   # Zone > SSL and Certificates > Edit\n",
		stacks.CertificateOriginCA, file, stacks.EdgeSecretGroup, stacks.EdgeOriginCATokenName, *stack)
	return nil
}

// hasEdgeKey says whether the stack file already sets the Origin CA key.
func hasEdgeKey(file string) (bool, error) {
	raw, _, err := stacks.ReadStackFile(file)
	if err != nil {
		return false, fmt.Errorf("reading the stack file: %w (run `pulumi stack init` first, or pass --project)", err)
	}
	v, ok := raw[stacks.Namespace+":secrets"]
	if !ok {
		return false, nil
	}
	var secrets map[string]map[string]any
	if err := json.Unmarshal([]byte(v), &secrets); err != nil {
		return false, fmt.Errorf("%s: shoestring:secrets is not a mapping of mappings: %w", file, err)
	}
	_, has := secrets[stacks.EdgeSecretGroup][stacks.EdgeOriginCAKeyName]
	return has, nil
}

// findPulumi is the CLI to run: the flag, pulumi on PATH, or the pinned build in the tools cache.
func findPulumi(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("pulumi"); err == nil {
		return p, nil
	}
	p := filepath.Join(toolsDir(), "bin", "pulumi")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the Pulumi CLI is not on PATH nor at %s: install it, or run scripts/tools.sh pulumi", p)
	}
	return p, nil
}
