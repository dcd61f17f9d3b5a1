package task

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var actorEvents = []struct {
	name string
	ev   ActorEvent
}{
	{"DepsReady", ActorDepsReady()},
	{"DepsFailed", ActorDepsFailed(errObjLost)},
	{"Created", Created("w2", "n2")},
	{"Created()", Created("", "n2")},
	{"CreationFailed", CreationFailed("ctor panicked")},
	{"WorkerDied(w1)", ActorWorkerDied("w1", "exit 137")},
	{"WorkerDied(w9)", ActorWorkerDied("w9", "exit 137")},
	{"WorkerDied()", ActorWorkerDied("", "exit 137")},
	{"NodeDied(n1)", ActorNodeDied("n1", "left")},
	{"NodeDied(n9)", ActorNodeDied("n9", "left")},
	{"Killed", Killed(false)},
	{"Killed(noRestart)", Killed(true)},
	{"Bogus", ActorEvent{Kind: 99}},
}

// actorPaths drive a fresh machine (MaxRestarts 1) into each state.
var actorPaths = map[string][]ActorEvent{
	"DEPENDENCIES_UNREADY": nil,
	"PENDING_CREATION":     {ActorDepsReady()},
	"ALIVE":                {ActorDepsReady(), Created("w1", "n1")},
	"RESTARTING":           {ActorDepsReady(), Created("w1", "n1"), ActorWorkerDied("w1", "")},
	"DEAD":                 {Killed(true)},
}

func TestActorMachineTransitions(t *testing.T) {
	type want struct {
		state ActorState
		eff   ActorEffects
	}
	dead := func(e ActorEffects) want {
		e.Dead, e.ErrKind = true, ErrKindActorDied
		return want{ActorDead, e}
	}
	restart := func(e ActorEffects) want {
		e.ScheduleCreation, e.Restarts = true, 1
		return want{ActorRestarting, e}
	}
	legal := map[string]want{
		"DEPENDENCIES_UNREADY/DepsReady":         {ActorPendingCreation, ActorEffects{ScheduleCreation: true}},
		"DEPENDENCIES_UNREADY/DepsFailed":        dead(ActorEffects{}),
		"DEPENDENCIES_UNREADY/Killed":            dead(ActorEffects{}),
		"DEPENDENCIES_UNREADY/Killed(noRestart)": dead(ActorEffects{}),

		"PENDING_CREATION/Created":           {ActorAlive, ActorEffects{}},
		"PENDING_CREATION/CreationFailed":    dead(ActorEffects{}),
		"PENDING_CREATION/WorkerDied(w1)":    restart(ActorEffects{}),
		"PENDING_CREATION/WorkerDied(w9)":    restart(ActorEffects{}),
		"PENDING_CREATION/WorkerDied()":      restart(ActorEffects{}),
		"PENDING_CREATION/NodeDied(n1)":      restart(ActorEffects{}),
		"PENDING_CREATION/NodeDied(n9)":      restart(ActorEffects{}),
		"PENDING_CREATION/Killed":            restart(ActorEffects{CancelCreation: true}),
		"PENDING_CREATION/Killed(noRestart)": dead(ActorEffects{CancelCreation: true}),

		"ALIVE/WorkerDied(w1)":    restart(ActorEffects{ReleaseNode: "n1"}),
		"ALIVE/WorkerDied(w9)":    {ActorAlive, ActorEffects{}},
		"ALIVE/WorkerDied()":      restart(ActorEffects{ReleaseNode: "n1"}),
		"ALIVE/NodeDied(n1)":      restart(ActorEffects{ReleaseNode: "n1"}),
		"ALIVE/NodeDied(n9)":      {ActorAlive, ActorEffects{}},
		"ALIVE/Killed":            restart(ActorEffects{ReleaseNode: "n1", KillWorker: "w1"}),
		"ALIVE/Killed(noRestart)": dead(ActorEffects{ReleaseNode: "n1", KillWorker: "w1"}),

		"RESTARTING/Created":           {ActorAlive, ActorEffects{Restarts: 1}},
		"RESTARTING/CreationFailed":    dead(ActorEffects{Restarts: 1}),
		"RESTARTING/WorkerDied(w1)":    dead(ActorEffects{Restarts: 1}),
		"RESTARTING/WorkerDied(w9)":    dead(ActorEffects{Restarts: 1}),
		"RESTARTING/WorkerDied()":      dead(ActorEffects{Restarts: 1}),
		"RESTARTING/NodeDied(n1)":      dead(ActorEffects{Restarts: 1}),
		"RESTARTING/NodeDied(n9)":      dead(ActorEffects{Restarts: 1}),
		"RESTARTING/Killed":            dead(ActorEffects{Restarts: 1, CancelCreation: true}),
		"RESTARTING/Killed(noRestart)": dead(ActorEffects{Restarts: 1, CancelCreation: true}),
	}
	for _, e := range []string{"Killed", "Killed(noRestart)", "WorkerDied(w1)", "WorkerDied(w9)", "WorkerDied()", "NodeDied(n1)", "NodeDied(n9)"} {
		legal["DEAD/"+e] = want{ActorDead, ActorEffects{}}
	}
	used := map[string]bool{}
	for path, evs := range actorPaths {
		for _, ae := range actorEvents {
			key := path + "/" + ae.name
			t.Run(key, func(t *testing.T) {
				m := NewActorMachine(ActorSpec{ID: "a1", Name: "Counter", MaxRestarts: 1})
				for _, ev := range evs {
					if _, err := m.Apply(ev); err != nil {
						t.Fatalf("driving to %s: %v", path, err)
					}
				}
				beforeState, beforeRestarts := m.State(), m.Restarts()
				eff, err := m.Apply(ae.ev)
				w, ok := legal[key]
				if !ok {
					var terr *TransitionError
					if !errors.As(err, &terr) || !errors.Is(err, ErrIllegalTransition) || terr.Machine != "actor" || terr.ID != "a1" {
						t.Fatalf("err = %v, want an actor *TransitionError", err)
					}
					if m.State() != beforeState || m.Restarts() != beforeRestarts {
						t.Errorf("illegal event changed the machine")
					}
					return
				}
				used[key] = true
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if m.State() != w.state {
					t.Errorf("state = %v, want %v", m.State(), w.state)
				}
				if eff.Dead && (eff.Message == "" || m.DeathCause() == "") {
					t.Error("death without a message")
				}
				if ae.ev.Kind == ActorEvDepsFailed && !errors.Is(eff.Cause, errObjLost) {
					t.Errorf("Cause = %v", eff.Cause)
				}
				eff.Message, eff.Cause = "", nil
				if !reflect.DeepEqual(eff, w.eff) {
					t.Errorf("effects = %+v\nwant      %+v", eff, w.eff)
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

func seqs(calls []Call) string {
	var b strings.Builder
	for i, c := range calls {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s%d", c.Caller, c.Seq)
		if c.Attempt > 0 {
			fmt.Fprintf(&b, "r%d", c.Attempt)
		}
	}
	return "[" + b.String() + "]"
}

func TestCallSequencerOrdering(t *testing.T) {
	s := NewCallSequencer(0)
	steps := []struct {
		call Call
		want string
	}{
		{Call{Caller: "a", Seq: 2}, "[]"},
		{Call{Caller: "b", Seq: 0}, "[b0]"},
		{Call{Caller: "a", Seq: 1}, "[]"},
		{Call{Caller: "a", Seq: 0}, "[a0 a1 a2]"},
		{Call{Caller: "a", Seq: 3}, "[a3]"},
		{Call{Caller: "b", Seq: 2}, "[]"},
		{Call{Caller: "b", Seq: 1}, "[b1 b2]"},
	}
	for i, st := range steps {
		got, err := s.Arrive(st.call)
		if err != nil || seqs(got) != st.want {
			t.Fatalf("step %d: Arrive(%s%d) = %s, %v; want %s", i, st.call.Caller, st.call.Seq, seqs(got), err, st.want)
		}
	}
	if s.InFlight() != 7 || s.Buffered() != 0 {
		t.Fatalf("InFlight %d Buffered %d", s.InFlight(), s.Buffered())
	}
	if _, err := s.Arrive(Call{Caller: "a", Seq: 1}); !errors.Is(err, ErrDuplicateCall) {
		t.Errorf("re-arrival of delivered a1: %v", err)
	}
	if got, err := s.Arrive(Call{Caller: "a", Seq: 5}); err != nil || len(got) != 0 {
		t.Fatalf("a5 ahead of a4: %s, %v", seqs(got), err)
	}
	if _, err := s.Arrive(Call{Caller: "a", Seq: 5}); !errors.Is(err, ErrDuplicateCall) {
		t.Errorf("duplicate of buffered a5: %v", err)
	}
	if s.Buffered() != 1 {
		t.Errorf("Buffered = %d, want 1", s.Buffered())
	}
	if err := s.Complete("a", 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		caller string
		seq    uint64
	}{{"a", 0}, {"a", 4}, {"zz", 0}} {
		if err := s.Complete(c.caller, c.seq); !errors.Is(err, ErrUnknownCall) {
			t.Errorf("Complete(%s%d) = %v, want ErrUnknownCall", c.caller, c.seq, err)
		}
	}
}

func TestCallSequencerRestart(t *testing.T) {
	tests := []struct {
		name        string
		retries     int
		wantFailed1 string // failed at the first restart
		wantResume1 string // delivered when the new instance is up
		wantFailed2 string
		wantResume2 string
	}{
		{"at-most-once", 0, "[a1 a2 b0]", "[a4]", "[a4]", "[]"},
		{"one retry", 1, "[]", "[a1r1 a2r1 a4 b0r1]", "[a1r1 a2r1 b0r1]", "[a4r1]"},
		{"unlimited", Unlimited, "[]", "[a1r1 a2r1 a4 b0r1]", "[]", "[a1r2 a2r2 a4r1 b0r2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewCallSequencer(tt.retries)
			for _, c := range []Call{{Caller: "a", Seq: 0}, {Caller: "a", Seq: 1}, {Caller: "a", Seq: 2}, {Caller: "b", Seq: 0}, {Caller: "a", Seq: 4}} {
				if _, err := s.Arrive(c); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Complete("a", 0); err != nil {
				t.Fatal(err)
			}
			// a4 is buffered behind the missing a3; a1, a2, b0 are in flight.
			if got := seqs(s.Restart()); got != tt.wantFailed1 {
				t.Fatalf("first restart failed %s, want %s", got, tt.wantFailed1)
			}
			if got, _ := s.Arrive(Call{Caller: "a", Seq: 3}); len(got) != 0 {
				t.Fatalf("delivered %s while paused", seqs(got))
			}
			// a3 arrived during the restart, so a4 no longer waits for it;
			// per caller, retried calls come before new ones.
			got := s.Resume()
			want := strings.Replace(tt.wantResume1, "a4", "a3 a4", 1)
			if seqs(got) != want {
				t.Fatalf("resume delivered %s, want %s", seqs(got), want)
			}
			if err := s.Complete("a", 3); err != nil {
				t.Fatal(err)
			}
			if got := seqs(s.Restart()); got != tt.wantFailed2 {
				t.Fatalf("second restart failed %s, want %s", got, tt.wantFailed2)
			}
			if got := seqs(s.Resume()); got != tt.wantResume2 {
				t.Fatalf("second resume delivered %s, want %s", got, tt.wantResume2)
			}
		})
	}
}

func TestCallSequencerKill(t *testing.T) {
	s := NewCallSequencer(Unlimited)
	for _, c := range []Call{{Caller: "b", Seq: 0}, {Caller: "a", Seq: 0}, {Caller: "a", Seq: 2}} {
		if _, err := s.Arrive(c); err != nil {
			t.Fatal(err)
		}
	}
	if got := seqs(s.Kill()); got != "[a0 a2 b0]" {
		t.Fatalf("Kill failed %s", got)
	}
	if _, err := s.Arrive(Call{Caller: "a", Seq: 1}); !errors.Is(err, ErrActorDead) {
		t.Fatalf("Arrive after Kill: %v", err)
	}
	if s.Resume() != nil || s.InFlight() != 0 || s.Buffered() != 0 || !s.Paused() {
		t.Fatal("dead sequencer still holds or delivers calls")
	}
}

// TestActorCallsAcrossRestarts runs calls through an ActorMachine the way
// the runtime does: calls before creation wait, calls in flight at a crash
// fail at-most-once, calls arriving during the restart run on the new
// instance, and everything fails once the restart budget is spent.
func TestActorCallsAcrossRestarts(t *testing.T) {
	m := NewActorMachine(ActorSpec{ID: "a", MaxRestarts: 1, MaxTaskRetries: 0})
	if err := m.Spec().Validate(); err != nil {
		t.Fatal(err)
	}
	arrive := func(seq uint64) string {
		t.Helper()
		got, err := m.Calls().Arrive(Call{Caller: "d", Seq: seq, TaskID: fmt.Sprint("call", seq)})
		if err != nil {
			t.Fatal(err)
		}
		return seqs(got)
	}
	apply := func(ev ActorEvent) ActorEffects {
		t.Helper()
		eff, err := m.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		return eff
	}
	apply(ActorDepsReady())
	if got := arrive(0); got != "[]" {
		t.Fatalf("call before creation delivered: %s", got)
	}
	if eff := apply(Created("w1", "n1")); seqs(eff.Deliver) != "[d0]" {
		t.Fatalf("Created delivered %s", seqs(eff.Deliver))
	}
	if got := arrive(1); got != "[d1]" {
		t.Fatalf("arrive d1: %s", got)
	}
	if err := m.Calls().Complete("d", 0); err != nil {
		t.Fatal(err)
	}
	eff := apply(ActorWorkerDied("w1", "segfault"))
	if m.State() != ActorRestarting || seqs(eff.FailCalls) != "[d1]" || eff.ErrKind != ErrKindActorDied ||
		!strings.Contains(eff.Message, "max_task_retries=0") {
		t.Fatalf("crash: state %v effects %+v", m.State(), eff)
	}
	if got := arrive(2); got != "[]" {
		t.Fatalf("call during restart delivered: %s", got)
	}
	if eff := apply(Created("w2", "n1")); seqs(eff.Deliver) != "[d2]" || m.Worker() != "w2" || m.Node() != "n1" {
		t.Fatalf("restart delivered %s", seqs(eff.Deliver))
	}
	eff = apply(ActorNodeDied("n1", "network partition"))
	if m.State() != ActorDead || !eff.Dead || seqs(eff.FailCalls) != "[d2]" || eff.ReleaseNode != "n1" ||
		!strings.Contains(m.DeathCause(), "no restarts left (max_restarts=1)") {
		t.Fatalf("second crash: state %v effects %+v cause %q", m.State(), eff, m.DeathCause())
	}
	if _, err := m.Calls().Arrive(Call{Caller: "d", Seq: 3}); !errors.Is(err, ErrActorDead) {
		t.Fatalf("call to dead actor: %v", err)
	}
}

func TestActorUnlimitedRestarts(t *testing.T) {
	m := NewActorMachine(ActorSpec{ID: "a", MaxRestarts: Unlimited})
	if _, err := m.Apply(ActorDepsReady()); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		w := fmt.Sprint("w", i)
		if _, err := m.Apply(Created(w, "n")); err != nil {
			t.Fatal(err)
		}
		eff, err := m.Apply(ActorWorkerDied(w, "oom"))
		if err != nil || m.State() != ActorRestarting || eff.Restarts != i+1 {
			t.Fatalf("restart %d: %v state %v effects %+v", i, err, m.State(), eff)
		}
	}
	for _, tt := range []struct {
		spec ActorSpec
		ok   bool
	}{
		{ActorSpec{MaxRestarts: -1, MaxTaskRetries: -1}, true},
		{ActorSpec{MaxRestarts: -2}, false},
		{ActorSpec{MaxTaskRetries: -2}, false},
	} {
		if err := tt.spec.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v", tt.spec, err)
		}
	}
	if ActorAlive.String() != "ALIVE" || ActorState(9).String() != "ActorState(9)" ||
		ActorEvKilled.String() != "Killed" || ActorEventKind(0).String() != "ActorEventKind(0)" {
		t.Error("String methods")
	}
}
