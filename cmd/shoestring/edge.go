package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/shoestring-dev/shoestring/components/edge"
	"github.com/shoestring-dev/shoestring/infra/program"
)

func init() {
	register("edge-conf", command{summary: "print the nginx.conf the edge runs for a stack (generated from its routes)", run: func(args []string) error {
		return edgeConf(args, os.Stdout)
	}})
}

func edgeConf(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("edge-conf", flag.ContinueOnError)
	stackFile := addStackFileFlags(fs, "read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := stackFile.load()
	if err != nil {
		return err
	}
	conf, err := edge.Conf(program.EdgeArgs(cfg))
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(out, conf)
	return err
}
