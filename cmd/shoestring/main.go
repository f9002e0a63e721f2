// Command shoestring is the project's CLI. Each subcommand lives in its own file
// (cluster.go, cost.go, playground.go, ...) and registers
// itself from init() with register, so engineers add commands without touching
// each other's files.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand: a one-line summary for the usage listing and the
// function that parses its own flags from args (everything after the name).
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

// register adds a subcommand; called from init() in the command's file.
// A duplicate name is a programming error, caught the first time the binary runs.
func register(name string, c command) {
	if _, dup := commands[name]; dup {
		panic("shoestring: subcommand " + name + " registered twice")
	}
	commands[name] = c
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: shoestring <command> [flags]   (shoestring <command> -h for its flags)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-12s %s\n", name, commands[name].summary)
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run dispatches to a subcommand and returns the process exit code:
// 0 on success, 2 for usage errors, 1 for failures.
func run(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "shoestring: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := c.run(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "shoestring %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
