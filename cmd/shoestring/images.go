package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shoestring-dev/shoestring/internal/playground"
	"github.com/shoestring-dev/shoestring/stacks"
)

func init() {
	register("images", command{
		summary: "the images the repository builds (list) and setting a stack's images to them (pin)",
		run:     func(args []string) error { return runImages(args, os.Stdout) },
	})
}

const imagesUsage = `usage: shoestring images <list|pin|local> [flags]

  list  the image builds: every service of the stack whose folder (playground.sources, default
        services/<name>) holds a Dockerfile, the DNS-sync controller and, where dev mode is allowed,
        its SSH/SFTP sidecar (dev-sftp); with --changed-from, only
        the services the branch changes (what its playground runs of its own)
  pin   set images in a stack file: --image <service>=<ref> sets that service's image,
        --image dnssync=<ref> sets shoestring:dnssync.image, --image dev-sftp=<ref>
        shoestring:devMode.sidecarImage (comments and order are kept); --resolve pins each
        by the digest its registry serves now (<ref>@sha256:...)
  local build the local cluster's images (nginx, MariaDB, Redis, busybox, pause, the example
        service) from Debian packages and this checkout, cached by their inputs; prints
        each image and its archive`

func runImages(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, imagesUsage)
		if len(args) == 0 {
			return errors.New("missing images command")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "list":
		return imagesList(args[1:], out)
	case "pin":
		return imagesPin(args[1:], out)
	case "local":
		return imagesLocal(args[1:], out)
	}
	return fmt.Errorf("unknown images command %q: want list, pin or local", args[0])
}

func imagesList(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("images list", flag.ContinueOnError)
	stackFile := addStackFileFlags(fs, "read services from")
	root := fs.String("root", ".", "the repository checkout")
	registry := fs.String("registry", "", "registry path the images go to (e.g. $IMAGE_REGISTRY); with --tag, each build gets its image ref")
	tag := fs.String("tag", "", "the tag, normally the commit")
	changedFrom := fs.String("changed-from", "", "only the services the branch changes since this git ref (e.g. origin/main)")
	format := fs.String("format", "json", "json (a list for a workflow matrix), flags (--image name=ref ...) or names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*registry == "") != (*tag == "") {
		return errors.New("give --registry and --tag together")
	}
	if *format == "flags" && *registry == "" {
		return errors.New("--format flags needs --registry and --tag")
	}
	cfg, err := stackFile.load()
	if err != nil {
		return err
	}
	builds, err := imageBuilds(cfg, *root, *changedFrom, *registry, *tag)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		if builds == nil {
			builds = []playground.ImageBuild{}
		}
		b, err := json.Marshal(builds)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, string(b))
		return err
	case "flags":
		var fl []string
		for _, b := range builds {
			fl = append(fl, "--image", b.Name+"="+b.Image)
		}
		_, err = fmt.Fprintln(out, strings.Join(fl, " "))
		return err
	case "names":
		for _, b := range builds {
			fmt.Fprintln(out, b.Name)
		}
		return nil
	}
	return fmt.Errorf("--format %q: want json, flags or names", *format)
}

// imageBuilds are the builds of a stack's services (and dnssync), or with changedFrom those of the
// services the branch changes, tagged when a registry is given.
func imageBuilds(cfg *stacks.Config, root, changedFrom, registry, tag string) ([]playground.ImageBuild, error) {
	var names []string
	for _, s := range cfg.Services {
		names = append(names, s.Name)
	}
	src := playground.FindSources(root, names, cfg.Playground.SourceOf)
	if changedFrom != "" {
		files, err := playground.ChangedFiles(root, changedFrom)
		if err != nil {
			return nil, err
		}
		sel, err := playground.SelectBranch(root, files, src, registry, tag)
		if err != nil {
			return nil, err
		}
		if registry == "" {
			var out []playground.ImageBuild
			all := map[string]playground.ImageBuild{}
			for _, b := range src.Builds(root) {
				all[b.Name] = b
			}
			for _, s := range sel.Changed {
				if b, ok := all[s]; ok {
					out = append(out, b)
				}
			}
			return out, nil
		}
		return sel.Builds, nil
	}
	builds := src.Builds(root)
	if _, err := os.Stat(filepath.Join(root, playground.DNSSyncBuild.Dockerfile)); err == nil {
		builds = append(builds, playground.DNSSyncBuild)
	}
	// Dev mode's sidecar, for the stacks that allow dev mode (their playgrounds use it too).
	if _, err := os.Stat(filepath.Join(root, playground.DevSFTPBuild.Dockerfile)); err == nil && cfg.DevMode.Allowed {
		builds = append(builds, playground.DevSFTPBuild)
	}
	if registry == "" {
		return builds, nil
	}
	return playground.Tag(builds, registry, tag)
}

func imagesPin(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("images pin", flag.ContinueOnError)
	stackFile := addStackFileFlags(fs, "change")
	var images listFlag
	fs.Var(&images, "image", "<service>=<ref>, dnssync=<ref> or dev-sftp=<ref> (repeatable)")
	resolve := fs.Bool("resolve", false, "pin each ref by the digest its registry serves for it now (<ref>@sha256:...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(images) == 0 {
		return errors.New("no --image given")
	}
	if *resolve {
		resolved, err := resolveDigests(context.Background(), images)
		if err != nil {
			return err
		}
		images = resolved
	}
	path := stackFile.path()
	before, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// The services the stack deploys, its own or the project's shared ones (whose images are
	// pinned in the stack's shoestring:overrides, never in Pulumi.yaml: one stack at a time).
	cfg, err := stacks.LoadStackFile(path)
	if err != nil {
		return err
	}
	var deployed []string
	for _, svc := range cfg.Services {
		deployed = append(deployed, svc.Name)
	}
	after, err := pinImages(before, images, deployed)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// Validate as a preview would before writing: a moving tag or a bad ref never lands.
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".pin")
	if err := os.WriteFile(tmp, after, 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := stacks.LoadStackFile(tmp); err != nil {
		return fmt.Errorf("%s with those images: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprintf(out, "images pin: %s: %s\n", path, strings.Join(images, ", "))
	return nil
}

// pinImages sets the images in a stack file's YAML, keeping everything else (comments, order): in
// the file's own shoestring:services entry, else (a service of the shared definition, named in
// deployed) in shoestring:overrides.services.<name>.image.
func pinImages(file []byte, images []string, deployed []string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(file, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("is not a stack file (no top-level mapping)")
	}
	config := mapValue(doc.Content[0], "config")
	if config == nil || config.Kind != yaml.MappingNode {
		return nil, errors.New("has no config mapping")
	}
	services := mapValue(config, stacks.Namespace+":services")
	byName := map[string]*yaml.Node{}
	if services != nil && services.Kind == yaml.SequenceNode {
		for _, item := range services.Content {
			if n := mapValue(item, "name"); n != nil {
				byName[n.Value] = item
			}
		}
	}
	for _, kv := range images {
		name, ref, ok := strings.Cut(kv, "=")
		if !ok || name == "" || ref == "" {
			return nil, fmt.Errorf("--image %q: write <service>=<ref>", kv)
		}
		switch item, isService := byName[name]; {
		case isService:
			setMapValue(item, "image", ref)
		case slices.Contains(deployed, name):
			overrides := childMapping(config, stacks.Namespace+":"+stacks.OverridesKey)
			setMapValue(childMapping(childMapping(overrides, "services"), name), "image", ref)
		case name == playground.DNSSyncBuild.Name:
			setMapValue(childMapping(config, stacks.Namespace+":dnssync"), "image", ref)
		case name == playground.DevSFTPBuild.Name:
			setMapValue(childMapping(config, stacks.Namespace+":devMode"), "sidecarImage", ref)
		default:
			return nil, fmt.Errorf("--image %s: %q is not a service of the stack (have %s) nor dnssync or dev-sftp", kv, name, strings.Join(deployed, ", "))
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// childMapping is m's mapping at key, added when missing.
func childMapping(m *yaml.Node, key string) *yaml.Node {
	if v := mapValue(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	if v := mapValue(m, key); v != nil {
		*v = *child // a null or empty value becomes the mapping
		return v
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, child)
	return child
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setMapValue(m *yaml.Node, key, value string) {
	if v := mapValue(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Style = yaml.ScalarNode, "!!str", value, 0
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
}
