package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/shoestring-dev/shoestring/stacks"
)

// stackFileFlags are the flags of the commands that read one stack's config file.
type stackFileFlags struct{ stack, file *string }

func addStackFileFlags(fs *flag.FlagSet, purpose string) stackFileFlags {
	return stackFileFlags{
		stack: fs.String("stack", "dev", "stack whose Pulumi.<stack>.yaml to "+purpose),
		file:  fs.String("file", "", "stack file to read instead of Pulumi.<stack>.yaml"),
	}
}

func (f stackFileFlags) path() string {
	if *f.file != "" {
		return *f.file
	}
	return "Pulumi." + *f.stack + ".yaml"
}

// load reads and validates the stack file, as a preview would, and prints its warnings to stderr.
func (f stackFileFlags) load() (*stacks.Config, error) {
	cfg, err := stacks.LoadStackFile(f.path())
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s: %s\n", f.path(), w.Error())
	}
	return cfg, nil
}
