package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the shoestring binary where a command starts
// shoestring again: `cluster up` runs the agent as `<its own executable> cluster agent`.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "cluster" && os.Args[2] == "agent" {
		os.Exit(run(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}
