package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockContent is what the file backend writes in a stack's lock file.
type lockContent struct {
	Pid      int    `json:"pid"`
	Hostname string `json:"hostname"`
}

// recoverLocks removes the file backend's locks of this stack whose process is gone (an update
// killed before it could unlock): the next run would otherwise refuse to start. A lock held by a
// live process, or by another machine, is left alone.
func recoverLocks(stateDir, project, stack string, progress io.Writer) error {
	root := filepath.Join(stateDir, "backend", ".pulumi", "locks")
	host, _ := os.Hostname()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		dir := filepath.Dir(path)
		if filepath.Base(dir) != stack || filepath.Base(filepath.Dir(dir)) != project {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var l lockContent
		if json.Unmarshal(b, &l) != nil || l.Hostname != host || l.Pid <= 0 || alive(l.Pid) {
			return nil
		}
		fmt.Fprintf(progress, "engine: removing the lock of stack %s left by process %d, which is gone\n", stack, l.Pid)
		return os.Remove(path)
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking the locks of stack %s: %w", stack, err)
	}
	return nil
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
