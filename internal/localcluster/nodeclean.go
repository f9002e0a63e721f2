package localcluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Removing real nodes: what the node processes leave once they are stopped. The containers and
// containerd's shims are in the node's cgroups (node.go), the kubelet's and containerd's mounts
// under the node's folders, every link, route and iptables rule in the node's namespace.

// removeRealNodes kills what is left in the real nodes' cgroups, unmounts their folders, deletes
// their network and cgroups. It is safe to call twice and on a state without real nodes.
func removeRealNodes(dir string, st *State) error {
	if st.Net == nil {
		return nil
	}
	var errs []error
	for i := 0; i < st.RealNodes; i++ {
		root := fmt.Sprintf("shoestring-%d-n%d", st.Net.Slot, i)
		if err := killCgroup(root); err != nil {
			errs = append(errs, err)
		}
	}
	runDir := filepath.Join(runRoot, strconv.Itoa(st.Net.Slot))
	for _, prefix := range []string{filepath.Join(dir, "nodes"), runDir} {
		if err := unmountUnder(prefix); err != nil {
			errs = append(errs, err)
		}
	}
	if err := st.Net.removeNet(st.RealNodes); err != nil {
		errs = append(errs, err)
	}
	for i := 0; i < st.RealNodes; i++ {
		if err := removeCgroup(fmt.Sprintf("shoestring-%d-n%d", st.Net.Slot, i)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(runDir); err != nil {
		errs = append(errs, err)
	}
	// Pods' volumes and containerd's snapshots: unmounted above, so removing them removes
	// only this cluster's files.
	if err := os.RemoveAll(filepath.Join(dir, "nodes")); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cgroupPids lists the processes in a cgroup and every cgroup below it (memory hierarchy: every
// process is in one).
func cgroupPids(root string) []int {
	var pids []int
	_ = filepath.WalkDir(filepath.Join(cgroupMount, "memory", root), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// killCgroup SIGKILLs every process of the node (containers, shims, containerd, whatever the node
// processes left) until none is left.
func killCgroup(root string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		pids := cgroupPids(root)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of cgroup %s survive SIGKILL", pids, root)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeCgroup removes the node's cgroup folders, deepest first (a cgroup folder is removed with
// rmdir once it holds no process).
func removeCgroup(root string) error {
	var errs []error
	for _, h := range cgroupHierarchies {
		base := filepath.Join(cgroupMount, h, root)
		var dirs []string
		_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(a, b int) bool { return len(dirs[a]) > len(dirs[b]) })
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("removing cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points at or below prefix, deepest first.
func mountsUnder(prefix string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == prefix || strings.HasPrefix(mp, prefix+"/") {
			out = append(out, mp)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return len(out[a]) > len(out[b]) })
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmountUnder detaches every mount at or below prefix (a mount may be stacked: repeat until
// none is left).
func unmountUnder(prefix string) error {
	for round := 0; round < 10; round++ {
		mps, err := mountsUnder(prefix)
		if err != nil {
			return err
		}
		if len(mps) == 0 {
			return nil
		}
		for _, mp := range mps {
			_ = syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
	mps, _ := mountsUnder(prefix)
	if len(mps) > 0 {
		return fmt.Errorf("mounts under %s remain: %v", prefix, mps)
	}
	return nil
}
