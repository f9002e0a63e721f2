package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRunDispatchesAndListsCommands(t *testing.T) {
	var got []string
	register("zz-test-ok", command{summary: "test command", run: func(args []string) error {
		got = args
		return nil
	}})
	register("zz-test-fail", command{summary: "fails", run: func([]string) error { return errors.New("boom") }})
	t.Cleanup(func() { delete(commands, "zz-test-ok"); delete(commands, "zz-test-fail") })

	var stderr bytes.Buffer
	if code := run([]string{"zz-test-ok", "-x", "y"}, &stderr); code != 0 || strings.Join(got, " ") != "-x y" {
		t.Fatalf("code %d args %q", code, got)
	}
	stderr.Reset()
	if code := run([]string{"zz-test-fail"}, &stderr); code != 1 || !strings.Contains(stderr.String(), "shoestring zz-test-fail: boom") {
		t.Fatalf("code %d stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"nope"}, &stderr); code != 2 || !strings.Contains(stderr.String(), `unknown command "nope"`) ||
		!strings.Contains(stderr.String(), "zz-test-ok") {
		t.Fatalf("code %d stderr %q", code, stderr.String())
	}
}

func TestClusterRefusesBadInput(t *testing.T) {
	if err := runCluster([]string{"sideways"}); err == nil || !strings.Contains(err.Error(), "want up, down, status or agent") {
		t.Fatalf("cluster sideways: %v", err)
	}
	if err := runCluster([]string{"status", "--dir", t.TempDir()}); err == nil || !strings.Contains(err.Error(), "make cluster-up") {
		t.Fatalf("status of no cluster: %v", err)
	}
}
