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
	root := fs.String("root", ".", "the repository checkout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	built, err := buildLocalImages(ctx, *root, os.Stderr, fs.Args()...)
	if err != nil {
		return err
	}
	for _, b := range built {
		fmt.Fprintf(out, "%s\t%s\n", b.Name, b.Archive)
	}
	return nil
}
