package localcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// What a started cluster leaves in its folder, so that another process can find, check and stop it.

// State is what a started cluster writes to Dir/cluster.json, so a later process (shoestring
// cluster down/status) can find and stop it.
type State struct {
	APIServerURL string         `json:"apiServerURL"`
	EtcdPort     int            `json:"etcdPort"`
	EtcdPeerPort int            `json:"etcdPeerPort"`
	APIPort      int            `json:"apiServerPort"`
	Processes    []ProcessState `json:"processes"` // in start order
	Kwok         bool           `json:"kwok"`
	KwokNodes    int            `json:"kwokNodes"`
	// RealNodes and Net: the real nodes and their network slot (nil without real nodes), so a
	// later process can remove what they made.
	RealNodes int      `json:"realNodes,omitempty"`
	Net       *nodeNet `json:"net,omitempty"`
	// EdgePort is the agent's 127.0.0.1 port forwarded to the real nodes' port 80 (0: none).
	EdgePort int `json:"edgePort,omitempty"`
}

// ProcessState is one process of a started cluster.
type ProcessState struct {
	Name   string `json:"name"`
	Binary string `json:"binary"`
	PID    int    `json:"pid"`
	Log    string `json:"log"`
}

const stateFile = "cluster.json"

func (c *Cluster) saveState() error {
	c.mu.Lock()
	c.state.Processes = nil
	for _, p := range c.procs {
		c.state.Processes = append(c.state.Processes, ProcessState{Name: p.name, Binary: p.binary, PID: p.pid(), Log: p.logPath})
	}
	st := c.state
	c.mu.Unlock()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, stateFile), append(b, '\n'), 0o600)
}

// State is the cluster's ports and processes.
func (c *Cluster) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// ReadState reads the state a started cluster left in dir.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return &st, nil
}

func (st *State) anyAlive(dir string) bool {
	for _, p := range st.Processes {
		if pidAlive(p.PID, p.Binary, dir) {
			return true
		}
	}
	return false
}

// Alive lists, per process, whether it is still running.
func (st *State) Alive(dir string) map[string]bool {
	out := map[string]bool{}
	for _, p := range st.Processes {
		out[p.Name] = pidAlive(p.PID, p.Binary, dir)
	}
	return out
}

// StopDir stops a detached cluster started from dir (shoestring cluster down), in reverse start
// order. A folder without a running cluster is not an error.
func StopDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, err := ReadState(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for i := len(st.Processes) - 1; i >= 0; i-- {
		p := st.Processes[i]
		if err := stopPid(p.PID, 15*time.Second, p.Binary, abs); err != nil {
			errs = append(errs, fmt.Errorf("%s (pid %d): %w", p.Name, p.PID, err))
		}
	}
	if err := removeRealNodes(abs, st); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.Remove(filepath.Join(abs, stateFile))
}
