package task

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var errObjLost = errors.New("object lost")

// taskEvents is every event kind, plus malformed ones, for the exhaustive
// state × event table.
var taskEvents = []struct {
	name string
	ev   Event
}{
	{"ArgsReady", ArgsReady()},
	{"ArgFailed", ArgFailed(errObjLost)},
	{"Scheduled", Scheduled("n2")},
	{"Scheduled()", Scheduled("")},
	{"Started", Started("w2")},
	{"Started()", Started("")},
	{"Succeeded", Succeeded()},
	{"Failed(WorkerDied)", Failed(WorkerDied, "boom")},
	{"Failed(NodeDied)", Failed(NodeDied, "boom")},
	{"Failed(AppError)", Failed(AppError, "boom")},
	{"Failed(?)", Failed(FailureKind(9), "boom")},
	{"Cancel", Cancel(false)},
	{"Cancel(force)", Cancel(true)},
	{"Unschedulable", Unschedulable("fits nowhere")},
	{"Bogus", Event{Kind: 99}},
}

// taskPaths drive a fresh machine (MaxRetries 1) into each state.
var taskPaths = map[string][]Event{
	"PENDING_ARGS":       nil,
	"PENDING_SCHEDULE":   {ArgsReady()},
	"SCHEDULED":          {ArgsReady(), Scheduled("n1")},
	"RUNNING":            {ArgsReady(), Scheduled("n1"), Started("w1")},
	"RUNNING+cancel":     {ArgsReady(), Scheduled("n1"), Started("w1"), Cancel(false)},
	"FINISHED":           {ArgsReady(), Scheduled("n1"), Started("w1"), Succeeded()},
	"FAILED":             {ArgFailed(errObjLost)},
	"CANCELLED":          {Cancel(false)},
	"CANCELLED(running)": {ArgsReady(), Scheduled("n1"), Started("w1"), Cancel(true)},
}

type taskWant struct {
	state TaskState
	eff   Effects // Message is checked only for being non-empty with FailReturns
}

func TestTaskMachineTransitions(t *testing.T) {
	legal := map[string]taskWant{
		"PENDING_ARGS/ArgsReady":     {TaskPendingSchedule, Effects{}},
		"PENDING_ARGS/ArgFailed":     {TaskFailed, Effects{FailReturns: true, ErrKind: ErrKindDependencyFailed, Cause: errObjLost, Dequeue: true}},
		"PENDING_ARGS/Cancel":        {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, Dequeue: true}},
		"PENDING_ARGS/Cancel(force)": {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, Dequeue: true}},

		"PENDING_SCHEDULE/ArgFailed":     {TaskFailed, Effects{FailReturns: true, ErrKind: ErrKindDependencyFailed, Cause: errObjLost, Dequeue: true}},
		"PENDING_SCHEDULE/Scheduled":     {TaskScheduled, Effects{}},
		"PENDING_SCHEDULE/Unschedulable": {TaskFailed, Effects{FailReturns: true, ErrKind: ErrKindInfeasible, Dequeue: true}},
		"PENDING_SCHEDULE/Cancel":        {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, Dequeue: true}},
		"PENDING_SCHEDULE/Cancel(force)": {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, Dequeue: true}},

		"SCHEDULED/ArgFailed":          {TaskFailed, Effects{FailReturns: true, ErrKind: ErrKindDependencyFailed, Cause: errObjLost, Dequeue: true, ReleaseNode: "n1"}},
		"SCHEDULED/Started":            {TaskRunning, Effects{}},
		"SCHEDULED/Failed(WorkerDied)": {TaskPendingSchedule, Effects{Resubmit: true, Attempt: 1, ReleaseNode: "n1"}},
		"SCHEDULED/Failed(NodeDied)":   {TaskPendingSchedule, Effects{Resubmit: true, Attempt: 1, ReleaseNode: "n1"}},
		"SCHEDULED/Cancel":             {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, ReleaseNode: "n1"}},
		"SCHEDULED/Cancel(force)":      {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, ReleaseNode: "n1"}},

		"RUNNING/Succeeded":          {TaskFinished, Effects{ReleaseNode: "n1"}},
		"RUNNING/Failed(WorkerDied)": {TaskPendingSchedule, Effects{Resubmit: true, Attempt: 1, ReleaseNode: "n1"}},
		"RUNNING/Failed(NodeDied)":   {TaskPendingSchedule, Effects{Resubmit: true, Attempt: 1, ReleaseNode: "n1"}},
		"RUNNING/Failed(AppError)":   {TaskFailed, Effects{FailReturns: true, ErrKind: ErrKindTaskError, ReleaseNode: "n1"}},
		"RUNNING/Cancel":             {TaskRunning, Effects{InterruptWorker: "w1"}},
		"RUNNING/Cancel(force)":      {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, KillWorker: "w1", ReleaseNode: "n1"}},

		"RUNNING+cancel/Succeeded":          {TaskFinished, Effects{ReleaseNode: "n1"}},
		"RUNNING+cancel/Failed(WorkerDied)": {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, ReleaseNode: "n1"}},
		"RUNNING+cancel/Failed(NodeDied)":   {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, ReleaseNode: "n1"}},
		"RUNNING+cancel/Failed(AppError)":   {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, ReleaseNode: "n1"}},
		"RUNNING+cancel/Cancel":             {TaskRunning, Effects{}},
		"RUNNING+cancel/Cancel(force)":      {TaskCancelled, Effects{FailReturns: true, ErrKind: ErrKindCancelled, KillWorker: "w1", ReleaseNode: "n1"}},

		"FINISHED/Cancel":        {TaskFinished, Effects{}},
		"FINISHED/Cancel(force)": {TaskFinished, Effects{}},
		"FAILED/Cancel":          {TaskFailed, Effects{}},
		"FAILED/Cancel(force)":   {TaskFailed, Effects{}},
	}
	for _, c := range []string{"CANCELLED", "CANCELLED(running)"} {
		for _, e := range []string{"Cancel", "Cancel(force)", "Succeeded", "Failed(WorkerDied)", "Failed(NodeDied)", "Failed(AppError)", "Failed(?)"} {
			legal[c+"/"+e] = taskWant{TaskCancelled, Effects{}} // late reports are ignored
		}
	}
	used := map[string]bool{}
	for path, evs := range taskPaths {
		for _, te := range taskEvents {
			key := path + "/" + te.name
			t.Run(key, func(t *testing.T) {
				m := NewTaskMachine(TaskSpec{ID: "t1", Name: "f", MaxRetries: 1})
				for _, ev := range evs {
					if _, err := m.Apply(ev); err != nil {
						t.Fatalf("driving to %s: %v", path, err)
					}
				}
				before := *m
				eff, err := m.Apply(te.ev)
				want, ok := legal[key]
				if !ok {
					var terr *TransitionError
					if !errors.Is(err, ErrIllegalTransition) || !errors.As(err, &terr) {
						t.Fatalf("err = %v, want a *TransitionError", err)
					}
					if terr.Machine != "task" || terr.ID != "t1" || terr.State != before.state.String() {
						t.Errorf("TransitionError = %+v", terr)
					}
					if *m != before {
						t.Errorf("illegal event changed the machine: %+v -> %+v", before, *m)
					}
					if eff != (Effects{}) {
						t.Errorf("illegal event returned effects %+v", eff)
					}
					return
				}
				used[key] = true
				if err != nil {
					t.Fatalf("err = %v, want legal", err)
				}
				if m.State() != want.state {
					t.Errorf("state = %v, want %v", m.State(), want.state)
				}
				if eff.FailReturns && eff.Message == "" {
					t.Error("FailReturns without a message")
				}
				if !errors.Is(eff.Cause, want.eff.Cause) {
					t.Errorf("Cause = %v, want %v", eff.Cause, want.eff.Cause)
				}
				got := eff
				got.Message, got.Cause, want.eff.Cause = "", nil, nil
				if got != want.eff {
					t.Errorf("effects = %+v\nwant      %+v", got, want.eff)
				}
			})
		}
	}
	for k := range legal {
		if !used[k] {
			t.Errorf("legal-table entry %s matches no state/event pair", k)
		}
	}
}

func TestTaskRetryBudgets(t *testing.T) {
	tests := []struct {
		name       string
		spec       TaskSpec
		fail       FailureKind
		wantRuns   int // attempts before the task fails for good (cap 50 = "unlimited")
		wantKind   ErrorKind
		wantSubstr string
	}{
		{"default: 3 retries after worker death", DefaultTaskSpec("t", "f"), WorkerDied, 4, ErrKindWorkerCrashed, "no retries left (max_retries=3)"},
		{"node death uses the same budget", DefaultTaskSpec("t", "f"), NodeDied, 4, ErrKindNodeDied, "NODE_DIED"},
		{"no retries", TaskSpec{ID: "t", MaxRetries: 0}, WorkerDied, 1, ErrKindWorkerCrashed, "attempt 1"},
		{"app errors are not retried by default", DefaultTaskSpec("t", "f"), AppError, 1, ErrKindTaskError, "TASK_EXECUTION_EXCEPTION"},
		{"app errors retried with RetryExceptions", TaskSpec{ID: "t", MaxRetries: 2, RetryExceptions: true}, AppError, 3, ErrKindTaskError, "max_retries=2"},
		{"unlimited", TaskSpec{ID: "t", MaxRetries: Unlimited}, WorkerDied, 50, ErrKindNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewTaskMachine(tt.spec)
			mustApply(t, m, ArgsReady())
			runs := 0
			var last Effects
			for runs < 50 {
				mustApply(t, m, Scheduled("n"))
				mustApply(t, m, Started("w"))
				runs++
				last = mustApply(t, m, Failed(tt.fail, "it broke"))
				if !last.Resubmit {
					break
				}
				if last.Attempt != runs || m.Attempt() != runs {
					t.Fatalf("Attempt = %d/%d after %d runs", last.Attempt, m.Attempt(), runs)
				}
			}
			if runs != tt.wantRuns {
				t.Fatalf("ran %d times, want %d", runs, tt.wantRuns)
			}
			if tt.wantKind == ErrKindNone {
				if m.State() != TaskPendingSchedule || m.RetriesLeft() != Unlimited {
					t.Fatalf("unlimited: state %v retries left %d", m.State(), m.RetriesLeft())
				}
				return
			}
			retryable := tt.fail != AppError || tt.spec.RetryExceptions
			if m.State() != TaskFailed || !last.FailReturns || last.ErrKind != tt.wantKind || (retryable && m.RetriesLeft() != 0) {
				t.Fatalf("final: state %v effects %+v retries left %d", m.State(), last, m.RetriesLeft())
			}
			if !strings.Contains(last.Message, tt.wantSubstr) || !strings.Contains(last.Message, "it broke") {
				t.Errorf("message %q lacks %q or the cause", last.Message, tt.wantSubstr)
			}
		})
	}
}

func TestTaskCancelledNeverRetries(t *testing.T) {
	m := NewTaskMachine(TaskSpec{ID: "t", MaxRetries: Unlimited})
	mustApply(t, m, ArgsReady())
	mustApply(t, m, Scheduled("n"))
	mustApply(t, m, Started("w"))
	if eff := mustApply(t, m, Cancel(false)); eff.InterruptWorker != "w" || !m.CancelRequested() {
		t.Fatalf("cooperative cancel: %+v", eff)
	}
	eff := mustApply(t, m, Failed(WorkerDied, "killed"))
	if eff.Resubmit || m.State() != TaskCancelled || eff.ErrKind != ErrKindCancelled {
		t.Fatalf("cancelled task retried or misreported: %+v state %v", eff, m.State())
	}
}

func TestTaskMachineAccessors(t *testing.T) {
	spec := TaskSpec{ID: "t9", Name: "train", MaxRetries: 2}
	m := NewTaskMachine(spec)
	if m.Spec() != spec || m.State() != TaskPendingArgs || m.RetriesLeft() != 2 {
		t.Fatal("fresh machine")
	}
	mustApply(t, m, ArgsReady())
	mustApply(t, m, Scheduled("n1"))
	mustApply(t, m, Started("w1"))
	if m.Node() != "n1" || m.Worker() != "w1" {
		t.Fatalf("node %q worker %q", m.Node(), m.Worker())
	}
	eff := mustApply(t, m, Failed(AppError, "bad input"))
	if !strings.Contains(eff.Message, "train (t9)") || m.Node() != "" || m.Worker() != "" {
		t.Fatalf("message %q node %q worker %q", eff.Message, m.Node(), m.Worker())
	}
	if err := (TaskSpec{ID: "x", MaxRetries: -2}).Validate(); err == nil {
		t.Error("MaxRetries -2 accepted")
	}
	if err := DefaultTaskSpec("x", "y").Validate(); err != nil {
		t.Error(err)
	}
	for _, tt := range []struct{ got, want string }{
		{TaskPendingArgs.String(), "PENDING_ARGS"}, {TaskCancelled.String(), "CANCELLED"}, {TaskState(99).String(), "TaskState(99)"},
		{ErrKindActorDied.String(), "ACTOR_DIED"}, {ErrorKind(-1).String(), "ErrorKind(-1)"},
		{EvUnschedulable.String(), "Unschedulable"}, {EventKind(0).String(), "EventKind(0)"},
		{WorkerDied.String(), "WORKER_DIED"}, {FailureKind(0).String(), "FailureKind(0)"},
	} {
		if tt.got != tt.want {
			t.Errorf("String = %q, want %q", tt.got, tt.want)
		}
	}
	if !TaskFinished.Terminal() || TaskRunning.Terminal() {
		t.Error("Terminal")
	}
	err := (&TransitionError{Machine: "task", ID: "t", State: "RUNNING", Event: "ArgsReady"}).Error()
	if err != "task t: event ArgsReady not allowed in state RUNNING" {
		t.Errorf("TransitionError.Error = %q", err)
	}
}

func mustApply(t *testing.T, m *TaskMachine, ev Event) Effects {
	t.Helper()
	eff, err := m.Apply(ev)
	if err != nil {
		t.Fatalf("Apply(%v): %v", ev.Kind, err)
	}
	return eff
}

func ExampleTaskMachine() {
	m := NewTaskMachine(DefaultTaskSpec("t1", "square"))
	for _, ev := range []Event{ArgsReady(), Scheduled("node-a"), Started("w-1"), Failed(WorkerDied, "SIGKILL")} {
		eff, _ := m.Apply(ev)
		fmt.Printf("%-9v -> %-16v resubmit=%v release=%q\n", ev.Kind, m.State(), eff.Resubmit, eff.ReleaseNode)
	}
	// Output:
	// ArgsReady -> PENDING_SCHEDULE resubmit=false release=""
	// Scheduled -> SCHEDULED        resubmit=false release=""
	// Started   -> RUNNING          resubmit=false release=""
	// Failed    -> PENDING_SCHEDULE resubmit=true release="node-a"
}
