package toolscript

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// step runs scripts/step.sh with args, its output in a file (the command under it can read that
// file) and its table in table; it returns the output and the exit code.
func step(t *testing.T, table, out string, args ...string) (string, int) {
	t.Helper()
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(filepath.Join(repo(t), "scripts", "step.sh"), args...)
	cmd.Env = append(os.Environ(), "SHOESTRING_STEPS="+table, "STEP_HEARTBEAT=1")
	cmd.Stdout, cmd.Stderr = f, f
	code := 0
	var exit *exec.ExitError
	if err := cmd.Run(); errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), code
}

// A step says what it runs and how long it usually takes, says it is alive while the command is
// silent, and ends with its time; the table lists every step since the reset, a failed one with
// its exit code, and the failure prints the table at once. Lines only: no carriage returns.
func TestStepIsNeverSilentAndTimesEachStep(t *testing.T) {
	tmp := t.TempDir()
	table, log := filepath.Join(tmp, "steps"), filepath.Join(tmp, "out")
	if _, code := step(t, table, log, "--reset"); code != 0 {
		t.Fatalf("--reset exited %d", code)
	}
	// The command is done once the wrapper has printed a heartbeat (every second here).
	wait := `for i in $(seq 100); do grep -q "still running" "$1" && exit 0; sleep 0.1; done; echo "no heartbeat in 10 s"; exit 1`
	out, code := step(t, table, log, "quiet build", "usually 5 s on 2 cores", "--", "sh", "-c", wait, "sh", log)
	if code != 0 {
		t.Fatalf("step exited %d:\n%s", code, out)
	}
	out, code = step(t, table, log, "--own-heartbeat", "broken", "usually no time", "--", "sh", "-c", "echo doing it; exit 3")
	if code != 3 {
		t.Fatalf("a failing command's step exited %d, want its code 3:\n%s", code, out)
	}
	contains(t, out,
		"step: quiet build: started (usually 5 s on 2 cores)\n",
		"step: quiet build: still running, ",
		" s so far (usually 5 s on 2 cores)\n",
		"step: quiet build: done in ",
		"step: broken: started (usually no time)\ndoing it\nstep: broken: FAILED after ",
		" s (exit 3)\n",
		"step: times of this run",
	)
	if strings.Count(out, "step: broken: still running") > 0 {
		t.Errorf("--own-heartbeat still printed a heartbeat:\n%s", out)
	}
	if strings.Contains(out, "\r") {
		t.Errorf("the output has carriage returns: %q", out)
	}
	tab, _ := step(t, table, filepath.Join(tmp, "table"), "--table")
	lines := strings.Split(strings.TrimSpace(tab), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines, want a title, 2 steps and the total:\n%s", len(lines), tab)
	}
	for i, w := range [][]string{{"quiet build", " s  ok"}, {"broken", " s  FAILED (exit 3)"}, {"total (wall clock)", " s"}} {
		if l := lines[i+1]; !strings.HasPrefix(strings.TrimSpace(l), w[0]) || !strings.Contains(l, w[1]) {
			t.Errorf("table line %d is %q, want %q ... %q", i+1, l, w[0], w[1])
		}
	}

	// A new run starts an empty table.
	step(t, table, log, "--reset")
	if tab, _ := step(t, table, filepath.Join(tmp, "table2"), "--table"); strings.Contains(tab, "quiet build") {
		t.Errorf("the table after --reset still has the last run's steps:\n%s", tab)
	}
}
