package stacks

import (
	"fmt"
	"sort"
	"strings"
)

// BeforeStep is one step of what runs before the rollout: a before-Job, or the rollout of a
// service that a before-Job waits for (Job is then empty).
type BeforeStep struct {
	Service int    // index in Services
	Job     int    // index in the service's ReleaseJobs; -1 for the service's rollout
	name    string // for messages: "api's before-Job migrate", "the rollout of api"
}

// IsRollout says whether the step is a service's rollout.
func (s BeforeStep) IsRollout() bool { return s.Job < 0 }

// BeforeOrder is the order of what runs before the rollout, one step after another: the
// before-Jobs by order (then by service, then as listed), with the rollout of each service a
// before-Job waits for placed after that service's own before-Jobs and before the Jobs that wait
// for it. A service's own before-Jobs therefore always run before its rollout, whatever waits for
// it. Rules that cannot all hold (a before-Job that waits, directly or through other services, for
// its own service's rollout) are an error naming the chain. Only valid after checkAndFillDefaults.
func (c *WorkloadsConfig) BeforeOrder() ([]BeforeStep, error) {
	endpoints := c.Endpoints()
	serviceIndex := map[string]int{}
	for i, s := range c.Services {
		serviceIndex[s.Name] = i
	}
	type job struct {
		step  BeforeStep
		order int
	}
	var jobs []job
	for si, s := range c.Services {
		for ji, rj := range s.ReleaseJobs {
			if rj.When == ReleaseBefore {
				jobs = append(jobs, job{BeforeStep{si, ji, fmt.Sprintf("%s's before-Job %s", s.Name, rj.Name)}, rj.Order})
			}
		}
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].order < jobs[j].order })

	// The nodes: each before-Job, then the rollout of each service a before-Job waits for.
	var nodes []BeforeStep
	for _, j := range jobs {
		nodes = append(nodes, j.step)
	}
	rollout := map[int]int{} // service index -> node
	waitsFor := map[int][]int{}
	for n, j := range jobs {
		rj := c.Services[j.step.Service].ReleaseJobs[j.step.Job]
		for _, t := range rj.WaitFor {
			wf, err := ParseWaitFor(t, endpoints)
			if err != nil {
				continue // refused by the waitFor check
			}
			si, isService := serviceIndex[wf.Host]
			if !isService {
				continue
			}
			if _, ok := rollout[si]; !ok {
				rollout[si] = len(nodes)
				nodes = append(nodes, BeforeStep{si, -1, "the rollout of " + c.Services[si].Name})
			}
			waitsFor[n] = append(waitsFor[n], rollout[si])
		}
	}
	// Edges: a service's own before-Jobs come before its rollout; a rollout before what waits for it.
	after := make([][]int, len(nodes)) // after[n]: what n waits for
	for n, j := range jobs {
		after[n] = append(after[n], waitsFor[n]...)
		if r, ok := rollout[j.step.Service]; ok {
			after[r] = append(after[r], n)
		}
	}
	// Kahn's algorithm, taking the ready rollout first (as early as it may go), then the ready Job
	// that comes first in the sorted order.
	done := make([]bool, len(nodes))
	var out []BeforeStep
	for len(out) < len(nodes) {
		next := -1
		for n := range nodes {
			if done[n] || !all(after[n], done) {
				continue
			}
			if next < 0 || (nodes[n].IsRollout() && !nodes[next].IsRollout()) {
				next = n
			}
		}
		if next < 0 {
			return nil, cycle(nodes, after, done)
		}
		done[next] = true
		out = append(out, nodes[next])
	}
	return out, nil
}

func all(ns []int, done []bool) bool {
	for _, n := range ns {
		if !done[n] {
			return false
		}
	}
	return true
}

// OrderCycle is a loop of release steps, each waiting for the next: no order runs them all.
type OrderCycle struct {
	Steps []BeforeStep // the first one is a before-Job
}

func (e *OrderCycle) Error() string {
	names := make([]string, 0, len(e.Steps)+1)
	for _, s := range append(e.Steps, e.Steps[0]) {
		names = append(names, s.name)
	}
	return names[0] + " waits for " + strings.Join(names[1:], ", which waits for ")
}

// cycle finds one loop among the steps not done.
func cycle(nodes []BeforeStep, after [][]int, done []bool) *OrderCycle {
	start := -1
	for n := range nodes {
		if !done[n] {
			start = n
			break
		}
	}
	seen := map[int]int{}
	var path []int
	for n := start; ; {
		if i, ok := seen[n]; ok {
			path = path[i:]
			break
		}
		seen[n] = len(path)
		path = append(path, n)
		for _, m := range after[n] {
			if !done[m] {
				n = m
				break
			}
		}
	}
	for i, n := range path { // start at a Job: its waitFor is what to change
		if !nodes[n].IsRollout() {
			path = append(path[i:], path[:i]...)
			break
		}
	}
	c := &OrderCycle{}
	for _, n := range path {
		c.Steps = append(c.Steps, nodes[n])
	}
	return c
}

// checkReleaseOrder refuses before-Jobs whose waitFor the release order cannot satisfy.
func (c *WorkloadsConfig) checkReleaseOrder() []FieldError {
	_, err := c.BeforeOrder()
	loop, ok := err.(*OrderCycle)
	if !ok {
		return nil
	}
	first := loop.Steps[0]
	return []FieldError{{Key: fmt.Sprintf("%s:services[%d].releaseJobs[%d].waitFor", Namespace, first.Service, first.Job),
		Problem: "cannot be satisfied by any release order: " + loop.Error(),
		Fix:     "a service's before-Jobs run before its rollout: remove the service from this waitFor (or, where inherited from the service's waitFor, give the Job its own), or make the Job an after-Job"}}
}
