package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one control-plane process started by this package.
type proc struct {
	name    string
	binary  string
	args    []string
	logPath string
	// wrapper runs the binary (nsenter into a real node's network namespace); it execs the
	// binary, so the pid and command line are the binary's own.
	wrapper []string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // its exit status, valid after done
}

// start runs the process with its output in logPath. Attached processes (tests) are killed by
// the kernel if this process dies (Pdeathsig), so a crashed or timed-out test leaves nothing
// behind; detached ones (shoestring cluster up) get their own session and outlive the CLI.
func (p *proc) start(detached bool) error {
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	argv := append(append(append([]string{}, p.wrapper...), p.binary), p.args...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.done = make(chan struct{})
	started := make(chan error, 1)
	if detached {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		go func() {
			err := p.cmd.Start()
			started <- err
			if err == nil {
				p.err = p.cmd.Wait()
			}
			logFile.Close()
			close(p.done)
		}()
		return <-started
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	go func() {
		// Pdeathsig fires when the *thread* that forked the child exits. This goroutine keeps
		// its thread locked while it waits, so the thread lives exactly as long as the child
		// (and dies with this process).
		runtime.LockOSThread()
		err := p.cmd.Start()
		started <- err
		if err == nil {
			p.err = p.cmd.Wait()
		}
		logFile.Close()
		close(p.done)
		// Returning while locked ends the thread, which is what we want.
	}()
	return <-started
}

func (p *proc) pid() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to terminate and kills it if it has not within grace.
func (p *proc) stop(grace time.Duration) {
	if p.cmd == nil || p.cmd.Process == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// logTail is the end of the process's log, for error messages.
func (p *proc) logTail() string {
	return tailFile(p.logPath, 15)
}

func tailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// findBinary looks in binDir first (the pinned builds), then PATH.
func findBinary(binDir, name string) (string, error) {
	if binDir != "" {
		p := filepath.Join(binDir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in %s nor on PATH: run `make tools` (scripts/tools.sh) to build the pinned control-plane binaries, or set SHOESTRING_TOOLS to the folder whose bin/ holds them", name, binDir)
}

// DefaultBinDir is where scripts/tools.sh puts the pinned binaries: $SHOESTRING_TOOLS/bin,
// by default ~/.cache/shoestring/tools/bin.
func DefaultBinDir() string {
	if d := os.Getenv("SHOESTRING_TOOLS"); d != "" {
		return filepath.Join(d, "bin")
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "shoestring", "tools", "bin")
}

// pidAlive reports whether pid is a live process whose command line mentions all of marks
// (the binary and the state folder), so a stale pid file never leads to signalling a stranger.
func pidAlive(pid int, marks ...string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	if st, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); err == nil {
		// A zombie (state Z) has exited; only its parent has not reaped it yet.
		if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return false
		}
	}
	for _, m := range marks {
		if !bytes.Contains(b, []byte(m)) {
			return false
		}
	}
	return true
}

// stopPid terminates a process this package started in an earlier run (detached), then kills it
// after grace.
func stopPid(pid int, grace time.Duration, marks ...string) error {
	if !pidAlive(pid, marks...) {
		return nil
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !pidAlive(pid, marks...) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = p.Signal(syscall.SIGKILL)
	for i := 0; i < 50 && pidAlive(pid, marks...); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if pidAlive(pid, marks...) {
		return fmt.Errorf("process %d did not stop after SIGKILL", pid)
	}
	return nil
}
