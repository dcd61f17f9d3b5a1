package jobs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goray/goray/internal/tomlutil"
	"github.com/goray/goray/runtime/task"
)

// A driver's resources ([resources] in the job file), as Ray's entrypoint
// resources (entrypoint_num_cpus, entrypoint_num_gpus, entrypoint_memory,
// entrypoint_resources):
//
//   - On submit, a request no single live node could ever hold (its totals,
//     not what is free now) is refused before anything starts, with an
//     error naming the field: ErrImpossibleResources. The driver runs on
//     the node that received the job, so a request that only other nodes
//     could hold is ErrResourcesElsewhere (an *ElsewhereError naming them):
//     the job API passes such a job to one of them (forward.go) and
//     refuses it, naming them, only when none takes it.
//   - A feasible driver holds its resources on its node while it runs: the
//     job stays PENDING, with a message saying what it waits for, until the
//     node has them free, and gives them back when the driver exits or is
//     stopped. Zero resources (the default) hold nothing and never wait.

// Resource names on a node, as the engine and Ray spell them.
const (
	resCPU    = task.CPU
	resGPU    = task.GPU
	resMemory = "memory"
)

// Errors of a driver's resources, usable with errors.Is.
var (
	// ErrImpossibleResources: no live node of the cluster has that much in
	// total, so the job could never start.
	ErrImpossibleResources = errors.New("impossible resources")
	// ErrResourcesElsewhere: the node that received the job cannot hold
	// the driver's resources in total, but other nodes can; the message
	// names them.
	ErrResourcesElsewhere = errors.New("this node cannot hold the driver's resources")
)

// NodeResources is one live node's resource totals, as the cluster's
// membership reports them.
type NodeResources struct {
	ID   string
	Name string
	// Addr is the node's job API address (host:port), "" when unknown.
	Addr  string
	Total map[string]float64
	// Self marks the node whose manager runs the job.
	Self bool
}

// label names a node in messages: its name, else a short ID, with the
// address a user would submit to.
func (n NodeResources) label() string {
	s := n.Name
	if s == "" {
		s = n.ID
		if len(s) > 12 {
			s = s[:12]
		}
	}
	if n.Addr != "" {
		s += " (" + n.Addr + ")"
	}
	return s
}

// A ResourceHolder is the node side of drivers' resources: the cluster's
// totals for the submit check, and holds on the node that runs the
// drivers.
type ResourceHolder interface {
	// Nodes returns the live nodes' totals, the manager's own node
	// marked Self.
	Nodes() []NodeResources
	// TryHold takes res from the node's free resources, all or nothing.
	// When res does not fit now it returns a nil release and what is free
	// (no error); it fails when the node could never grant res.
	TryHold(res map[string]float64) (release func(), free map[string]float64, err error)
}

// Demand is the driver's resources under the node's resource names (CPU,
// GPU, memory in bytes, custom names), without zero entries.
func (r Resources) Demand() map[string]float64 {
	d := map[string]float64{}
	add := func(k string, v float64) {
		if v > 0 {
			d[k] += v
		}
	}
	add(resCPU, r.NumCPUs)
	add(resGPU, r.NumGPUs)
	add(resMemory, float64(r.Memory))
	for k, v := range r.Custom {
		add(k, v)
	}
	return d
}

// fieldOf is the job file key a node resource name came from.
func fieldOf(name string) string {
	switch name {
	case resCPU:
		return "resources.num_cpus"
	case resGPU:
		return "resources.num_gpus"
	case resMemory:
		return "resources.memory"
	}
	return "resources.custom." + name
}

// quantity says how much of a resource, in the words of the job file.
func quantity(name string, v float64) string {
	n := strconv.FormatFloat(v, 'f', -1, 64)
	switch name {
	case resCPU:
		return n + " CPUs"
	case resGPU:
		return n + " GPUs"
	case resMemory:
		return n + " bytes of memory"
	}
	return n + " " + strconv.Quote(name)
}

// fieldErr names the job file field of a resource problem, with its line
// when the spec was parsed from text.
func (s *Spec) fieldErr(key string, err error) error {
	if s.fields != nil {
		return s.fields.Wrap(key, err)
	}
	name := s.Path
	if name == "" {
		name = "job.toml"
	}
	return &tomlutil.FieldError{File: name, Key: key, Err: err}
}

// CheckResources refuses a driver whose resources no live node in nodes
// has in total (ErrImpossibleResources, naming the first field that is
// too large, or "resources" when each fits somewhere but no node has all
// of them), and one that only nodes other than Self could hold (an
// *ElsewhereError, which is ErrResourcesElsewhere, carrying those nodes).
// Errors are *tomlutil.FieldError naming the field and its line. Zero
// resources always pass; so does an empty nodes (nothing known to check
// against).
func CheckResources(spec *Spec, nodes []NodeResources) error {
	need := spec.Resources.Demand()
	if len(need) == 0 || len(nodes) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(need))
	// The fields in the job file's order of keys: CPUs, GPUs, memory,
	// then custom names sorted.
	order := func(k string) int {
		switch k {
		case resCPU:
			return 0
		case resGPU:
			return 1
		case resMemory:
			return 2
		}
		return 3
	}
	slices.SortStableFunc(names, func(a, b string) int { return order(a) - order(b) })
	for _, k := range names {
		var most float64
		for _, n := range nodes {
			most = max(most, n.Total[k])
		}
		if !task.Resources(map[string]float64{k: need[k]}).Fits(task.Resources(map[string]float64{k: most})) {
			return spec.fieldErr(fieldOf(k), fmt.Errorf("%w: %s requested, the largest live node has %s",
				ErrImpossibleResources, quantity(k, need[k]), strconv.FormatFloat(most, 'f', -1, 64)))
		}
	}
	var can []NodeResources
	selfFits, haveSelf := false, false
	for _, n := range nodes {
		if !task.Resources(need).Fits(task.Resources(n.Total)) {
			continue
		}
		can = append(can, n)
		if n.Self {
			selfFits = true
		}
	}
	for _, n := range nodes {
		haveSelf = haveSelf || n.Self
	}
	if len(can) == 0 {
		var have []string
		for _, n := range nodes {
			have = append(have, n.label()+": "+describeTotals(n.Total, names))
		}
		return spec.fieldErr("resources", fmt.Errorf("%w: %s requested together, and no live node has all of it (%s)",
			ErrImpossibleResources, describeTotals(need, names), strings.Join(have, "; ")))
	}
	if haveSelf && !selfFits {
		var self NodeResources
		var where []string
		for _, n := range nodes {
			if n.Self {
				self = n
			}
		}
		for _, n := range can {
			where = append(where, n.label())
		}
		return spec.fieldErr("resources", &ElsewhereError{Nodes: can, msg: fmt.Sprintf("%s requested, this node %s has %s in total; submit the job to a node that can run its driver: %s",
			describeTotals(need, names), self.label(), describeTotals(self.Total, names), strings.Join(where, ", "))})
	}
	return nil
}

// ElsewhereError is ErrResourcesElsewhere with the nodes that could hold
// the driver, so that a daemon can pass the job to one of them.
type ElsewhereError struct {
	// Nodes could hold the driver's resources (their totals), in the
	// order the membership listed them.
	Nodes []NodeResources
	msg   string
}

func (e *ElsewhereError) Error() string { return ErrResourcesElsewhere.Error() + ": " + e.msg }

// Unwrap makes errors.Is(err, ErrResourcesElsewhere) hold.
func (e *ElsewhereError) Unwrap() error { return ErrResourcesElsewhere }

// describeTotals prints the resources names of r as "CPU=2 GPU=0".
func describeTotals(r map[string]float64, names []string) string {
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, k+"="+strconv.FormatFloat(r[k], 'f', -1, 64))
	}
	return strings.Join(parts, " ")
}

// holdPoll is how often a PENDING driver looks again for its resources.
// The node has no notice for "resources freed" outside its scheduler, and
// one look is a map comparison under the node's lock, so polling costs
// nothing measurable; it adds at most this much to a job's start.
const holdPoll = 100 * time.Millisecond

// holdResources waits until this node holds the driver's resources and
// returns the function that gives them back. While it waits the job is
// PENDING with a message saying what it needs and what is free. It ends
// with ctx (Stop) and fails when the node can never grant them.
func (m *Manager) holdResources(ctx context.Context, j *job, spec *Spec) (func(), error) {
	need := spec.Resources.Demand()
	h := m.cfg.Resources
	if h == nil || len(need) == 0 {
		return func() {}, nil
	}
	names := slices.Sorted(maps.Keys(need))
	t := time.NewTicker(holdPoll)
	defer t.Stop()
	said, saidAt := "", time.Time{}
	for {
		release, free, err := h.TryHold(need)
		if err != nil {
			return nil, fmt.Errorf("hold the driver's resources (%s): %w", describeTotals(need, names), err)
		}
		if release != nil {
			m.log.Info("driver resources held", "job", j.info.ID, "resources", describeTotals(need, names))
			return release, nil
		}
		msg := fmt.Sprintf("waiting for resources: the driver needs %s, free on this node now: %s",
			describeTotals(need, names), describeTotals(free, names))
		// The free amounts move with every task on a busy node: the record
		// (a file write and a wake-up of every follower) changes at most
		// once a second.
		if msg != said && (said == "" || time.Since(saidAt) >= time.Second) {
			said, saidAt = msg, time.Now()
			m.update(j, func(i *Info) { i.Message = msg })
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped while waiting for resources: %w", ctx.Err())
		case <-t.C:
		}
	}
}
