package runtime

import (
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/goray/goray/runtime/task"
)

// Holds outside the scheduler: a job's driver.
//
// Ray gives a job's entrypoint (its driver) resources of its own
// (entrypoint_num_cpus and friends): the driver holds them on its node for
// as long as it runs, so the tasks it submits see that much less there.
// The job manager runs drivers as plain processes, not as tasks, so it
// takes those resources from the node's free pool directly, through the
// same accounting tasks and actors lease from (n.avail): the scheduler,
// the resource broadcasts and `goray status` all see them as used, and
// giving them back wakes the scheduler like a finished task does.

// ErrHoldInfeasible reports a hold that this node could never grant: it
// asks for more than the node has in total.
var ErrHoldInfeasible = errors.New("runtime: more resources than this node has in total")

// ErrDraining reports a hold asked of a node that is draining (SIGTERM):
// it is about to leave, so a driver started there now would be killed
// with it.
var ErrDraining = errors.New("runtime: the node is draining and will leave")

// TotalResources returns the node's resource totals (CPU, GPU, custom
// names; "memory" where the node was given one).
func (n *Node) TotalResources() map[string]float64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(map[string]float64(n.total))
}

// TryHold takes res from what the node has free now, all or nothing, and
// returns the function that gives it back (idempotent; safe after Stop).
// When res does not fit now it returns a nil release, what is free now and
// no error, so that the caller can wait and say why; it fails with
// ErrHoldInfeasible when res exceeds the node's totals and with ErrStopped
// once the node stopped and with ErrDraining while it drains. A zero res
// holds nothing and always succeeds.
func (n *Node) TryHold(res map[string]float64) (release func(), free map[string]float64, err error) {
	need := task.Resources{}
	for k, v := range res {
		if v != 0 { // a zero entry must not add a key the node lacks
			need[k] = v
		}
	}
	if err := need.Validate(); err != nil {
		return nil, nil, fmt.Errorf("runtime: hold %v: %w", res, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil, nil, ErrStopped
	}
	if n.draining && len(need) > 0 {
		return nil, nil, ErrDraining
	}
	if !fits(need, n.total) {
		return nil, nil, fmt.Errorf("%w: %v requested, the node has %v", ErrHoldInfeasible, need, n.total)
	}
	if !fits(need, n.avail) {
		return nil, maps.Clone(n.avail), nil
	}
	addRes(n.avail, need, -1)
	var once sync.Once
	return func() {
		once.Do(func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			addRes(n.avail, need, 1)
			if !n.stopped {
				n.scheduleLocked() // queued tasks and actors may fit now
			}
		})
	}, nil, nil
}

// TotalResources returns the totals a node made from c would have (its
// defaults applied: all CPUs of the machine when NumCPUs is 0), so that a
// caller can check a request before it builds or starts anything.
func (c NodeConfig) TotalResources() map[string]float64 {
	c.setDefaults()
	total := map[string]float64{task.CPU: c.NumCPUs}
	if c.NumGPUs > 0 {
		total[task.GPU] = c.NumGPUs
	}
	maps.Copy(total, c.Resources)
	return total
}
