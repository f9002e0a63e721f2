package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/shoestring-dev/shoestring/internal/localcluster"
	"github.com/shoestring-dev/shoestring/internal/localimages"
)

// localImageCache is where the local images are kept: the tools cache, beside the binaries.
func localImageCache() string { return filepath.Dir(localcluster.DefaultBinDir()) }

// repoRoot is the checkout holding the working folder: the nearest folder up with
// services/ and tools/ (the images build from both).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "tools", "kube", "go.mod")); err == nil && !st.IsDir() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no shoestring checkout (tools/kube/go.mod) in %s or above: run from the repository", dir)
		}
	}
}

// buildLocalImages builds (or finds cached) the named local images, all when none are named.
func buildLocalImages(ctx context.Context, root string, log io.Writer, names ...string) ([]localimages.Built, error) {
	specs, err := localimages.Named(names...)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	b := &localimages.Builder{RepoDir: abs, CacheDir: localImageCache(), Log: log}
	return b.Build(ctx, specs)
}

func imagesLocal(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("images local", flag.ContinueOnError)
	root := fs.String("root", "", "the repository checkout (default: the one holding the working folder)")
	plan := fs.Bool("plan", false, "only say which images are cached and which would be built, with their usual times")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *root == "" {
		r, err := repoRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	if *plan {
		return planLocalImages(*root, out, fs.Args()...)
	}
	built, err := buildLocalImages(ctx, *root, os.Stderr, fs.Args()...)
	if err != nil {
		return err
	}
	for _, b := range built {
		fmt.Fprintf(out, "%s\t%s\n", b.Name, b.Archive)
	}
	return nil
}

// planLocalImages prints one line: the images already built, and those a build would make with
// what that usually takes.
func planLocalImages(root string, out io.Writer, names ...string) error {
	specs, err := localimages.Named(names...)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	b := &localimages.Builder{RepoDir: abs, CacheDir: localImageCache()}
	plan, err := b.Plan(specs)
	if err != nil {
		return err
	}
	if sum := localimages.Summary(plan); sum != "" {
		fmt.Fprintf(out, "images: plan: %s\n", sum)
	} else {
		fmt.Fprintf(out, "images: plan: all %d built before\n", len(plan))
	}
	return nil
}
