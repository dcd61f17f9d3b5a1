package state

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/goray/goray/runtime/jobs"
)

// DemoSize says how much Populate creates.
type DemoSize struct {
	Nodes, Jobs, Actors, Tasks, Objects, PlacementGroups, Trials int
}

// Populate fills m with a deterministic synthetic cluster (the same seed
// gives the same records): for benchmarks, tests and for trying the
// dashboard without a cluster. Times count from base.
func Populate(m *MemorySource, seed uint64, size DemoSize, base time.Time) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	nodes := make([]NodeState, size.Nodes)
	for i := range nodes {
		state := NodeAlive
		if i > 0 && i%7 == 0 {
			state = NodeDead
		}
		cpus := float64(int(8) << (i % 3))
		nodes[i] = NodeState{
			ID: fmt.Sprintf("node-%02d", i), Name: fmt.Sprintf("host-%02d", i),
			Address: fmt.Sprintf("10.0.0.%d:7380", i+1), State: state, IsHead: i == 0,
			ResourcesTotal:     map[string]float64{"CPU": cpus, "GPU": float64(i % 2), "memory": 32 << 30},
			ResourcesAvailable: map[string]float64{"CPU": float64(rng.IntN(int(cpus) + 1)), "GPU": 0, "memory": 16 << 30},
			ObjectStoreUsed:    rng.Int64N(4 << 30), ObjectStoreLimit: 4 << 30,
			CPUPercent: float64(rng.IntN(1000)) / 10, MemoryUsed: rng.Int64N(32 << 30), MemoryTotal: 32 << 30,
			RunningTasks: rng.IntN(16), Workers: rng.IntN(16), StartTime: base,
		}
	}
	m.SetNodes(nodes)
	node := func() string {
		if len(nodes) == 0 {
			return ""
		}
		return nodes[rng.IntN(len(nodes))].ID
	}
	jobStates := []jobs.State{jobs.Succeeded, jobs.Succeeded, jobs.Failed, jobs.Running, jobs.Stopped, jobs.Pending}
	js := make([]JobState, size.Jobs)
	for i := range js {
		st := jobStates[rng.IntN(len(jobStates))]
		sub := base.Add(time.Duration(i) * time.Minute)
		j := JobState{ID: fmt.Sprintf("goraysubmit_%016x", rng.Uint64()), Name: fmt.Sprintf("job-%d", i),
			State: st, Kind: []string{"package", "rllib", "tune", "command"}[i%4], Entrypoint: "./cmd/train",
			SubmitTime: sub}
		if st != jobs.Pending {
			start := sub.Add(time.Second)
			j.StartTime = &start
		}
		if st.Terminal() {
			end := sub.Add(time.Duration(10+rng.IntN(600)) * time.Second)
			j.EndTime = &end
			code := 0
			if st != jobs.Succeeded {
				code = 1
				j.Message = "driver exited with status 1"
			}
			j.ExitCode = &code
		}
		js[i] = j
	}
	m.PutJobs(js)
	job := func() string {
		if len(js) == 0 {
			return ""
		}
		return js[rng.IntN(len(js))].ID
	}
	actorStates := []string{"ALIVE", "ALIVE", "ALIVE", "DEAD", "RESTARTING", "PENDING_CREATION"}
	classes := []string{"RolloutWorker", "Learner", "Counter", "ParameterServer", "TrialRunner"}
	as := make([]ActorState, size.Actors)
	for i := range as {
		st := actorStates[rng.IntN(len(actorStates))]
		a := ActorState{ID: fmt.Sprintf("%016x", rng.Uint64()), Class: classes[rng.IntN(len(classes))],
			State: st, Node: node(), PID: 1000 + i, Restarts: rng.IntN(3), Job: job()}
		if i%10 == 0 {
			a.Name = fmt.Sprintf("actor-%d", i)
		}
		if st == "DEAD" {
			a.DeathCause = "the actor's worker process exited"
		}
		as[i] = a
	}
	m.PutActors(as)
	taskStates := []string{TaskFinished, TaskFinished, TaskFinished, TaskRunning, TaskPendingNode, TaskFailed}
	fns := []string{"sample", "train_step", "compute", "preprocess", "RolloutWorker.Sample"}
	for i := range size.Tasks {
		st := taskStates[rng.IntN(len(taskStates))]
		t := TaskState{ID: fmt.Sprintf("t%015x", rng.Uint64()>>4), Name: fns[rng.IntN(len(fns))], State: st,
			Node: node(), Job: job(), Attempt: rng.IntN(2)}
		if st == TaskFailed {
			t.Error, t.ErrorType = fmt.Sprintf("panic: index out of range [%d]", i), "TASK_EXECUTION_EXCEPTION"
		}
		m.tasks.Put(t)
	}
	m.bump(KindTasks)
	for range size.Objects {
		o := ObjectState{ID: fmt.Sprintf("%016x", rng.Uint64()), Size: rng.Int64N(64 << 20),
			Owner: fmt.Sprintf("worker-%d", rng.IntN(50)), OwnerNode: node(), Locations: []string{node()},
			Spilled: rng.IntN(10) == 0, RefCount: 1 + rng.IntN(3), Job: job()}
		m.objects.Put(o)
	}
	m.bump(KindObjects)
	for i := range size.PlacementGroups {
		m.PutPlacementGroup(PlacementGroupState{ID: fmt.Sprintf("pg%014x", rng.Uint64()>>8), Name: fmt.Sprintf("pg-%d", i),
			State: "CREATED", Strategy: "PACK", Job: job(),
			Bundles: []Bundle{{Index: 0, Resources: map[string]float64{"CPU": 1}, Node: node()}, {Index: 1, Resources: map[string]float64{"CPU": 1, "GPU": 1}, Node: node()}}})
	}
	for i := range size.Trials {
		m.PutTrial(TrialState{ID: fmt.Sprintf("trial_%05d", i), Job: job(), Experiment: "PPO_CartPole",
			Status: []string{"RUNNING", "TERMINATED", "PENDING", "ERROR"}[i%4],
			Config: map[string]any{"lr": 1e-4 * float64(1+i%5)}, Iteration: rng.IntN(100),
			Metrics: map[string]float64{"episode_reward_mean": float64(rng.IntN(500))}, Node: node()})
	}
}
