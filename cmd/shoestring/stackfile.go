package main

import (
	"flag"

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

// load reads and validates the stack file, as a preview would.
func (f stackFileFlags) load() (*stacks.Config, error) { return stacks.LoadStackFile(f.path()) }
