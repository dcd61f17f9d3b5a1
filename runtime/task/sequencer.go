package task

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// Call is one actor method call. Each caller (a driver, task or actor
// holding a handle) numbers its calls to an actor 0, 1, 2, ...; Attempt
// counts retries after actor restarts (0 for the first delivery).
type Call struct {
	Caller  string
	Seq     uint64
	TaskID  string
	Attempt int
}

// callerQueue is the sequencing state of one caller.
type callerQueue struct {
	next     uint64          // lowest sequence number not yet delivered
	pending  map[uint64]Call // arrived early or while paused, not delivered
	inflight map[uint64]Call // delivered, not completed
	redo     []Call          // retries to deliver first on resume, by Seq
}

// CallSequencer delivers each caller's calls strictly in sequence order even
// when they arrive out of order, and decides what happens to calls in flight
// when the actor restarts: a call is retried on the new instance only while
// its attempts stay within MaxTaskRetries, otherwise it fails with
// ErrKindActorDied. Calls that were never delivered are not lost by a
// restart and simply wait for the new instance.
//
// Delivery means "hand to the actor's worker now"; the caller reports
// completion with Complete. A paused sequencer (actor not alive) buffers.
type CallSequencer struct {
	maxTaskRetries int
	paused, dead   bool
	callers        map[string]*callerQueue
}

// NewCallSequencer returns a running (unpaused) sequencer. maxTaskRetries
// is the actor's max_task_retries: 0 = at-most-once, -1 = unlimited.
func NewCallSequencer(maxTaskRetries int) *CallSequencer {
	return &CallSequencer{maxTaskRetries: maxTaskRetries, callers: map[string]*callerQueue{}}
}

func (s *CallSequencer) queue(caller string) *callerQueue {
	q := s.callers[caller]
	if q == nil {
		q = &callerQueue{pending: map[uint64]Call{}, inflight: map[uint64]Call{}}
		s.callers[caller] = q
	}
	return q
}

// Arrive accepts a call and returns the calls that may be delivered now, in
// order: c itself and any buffered successors once the sequence has no gap.
// A call whose (Caller, Seq) was seen before fails with ErrDuplicateCall; on
// a dead actor every call fails with ErrActorDead.
func (s *CallSequencer) Arrive(c Call) ([]Call, error) {
	if s.dead {
		return nil, fmt.Errorf("call %s#%d: %w", c.Caller, c.Seq, ErrActorDead)
	}
	q := s.queue(c.Caller)
	_, p := q.pending[c.Seq]
	_, f := q.inflight[c.Seq]
	redo := slices.ContainsFunc(q.redo, func(r Call) bool { return r.Seq == c.Seq })
	if c.Seq < q.next || p || f || redo {
		return nil, fmt.Errorf("call %s#%d: %w", c.Caller, c.Seq, ErrDuplicateCall)
	}
	q.pending[c.Seq] = c
	if s.paused {
		return nil, nil
	}
	return q.drain(nil), nil
}

// drain delivers the in-order run of pending calls starting at next.
func (q *callerQueue) drain(out []Call) []Call {
	for {
		c, ok := q.pending[q.next]
		if !ok {
			return out
		}
		delete(q.pending, q.next)
		q.inflight[q.next] = c
		q.next++
		out = append(out, c)
	}
}

// Complete records that a delivered call finished (successfully or with an
// application error); it fails with ErrUnknownCall for a call not in flight.
func (s *CallSequencer) Complete(caller string, seq uint64) error {
	q := s.callers[caller]
	if q == nil {
		return fmt.Errorf("call %s#%d: %w", caller, seq, ErrUnknownCall)
	}
	if _, ok := q.inflight[seq]; !ok {
		return fmt.Errorf("call %s#%d: %w", caller, seq, ErrUnknownCall)
	}
	delete(q.inflight, seq)
	return nil
}

// Pause stops delivery (the actor is not alive); arriving calls buffer.
func (s *CallSequencer) Pause() { s.paused = true }

// Paused reports whether delivery is stopped.
func (s *CallSequencer) Paused() bool { return s.paused }

// Restart handles the death of the actor instance: delivery pauses, each
// call in flight is either queued for redelivery (Attempt+1) when
// MaxTaskRetries allows or returned as failed. Callers are visited in sorted
// order and calls by sequence number, so the result is deterministic.
func (s *CallSequencer) Restart() (failed []Call) {
	s.paused = true
	for _, caller := range slices.Sorted(maps.Keys(s.callers)) {
		q := s.callers[caller]
		for _, seq := range slices.Sorted(maps.Keys(q.inflight)) {
			c := q.inflight[seq]
			delete(q.inflight, seq)
			if s.maxTaskRetries < 0 || c.Attempt < s.maxTaskRetries {
				c.Attempt++
				q.redo = append(q.redo, c)
			} else {
				failed = append(failed, c)
			}
		}
		slices.SortFunc(q.redo, bySeq)
	}
	return failed
}

// Resume restarts delivery on a (new) live instance and returns what to
// deliver: per caller, the retried calls first, then buffered calls that
// are now in order.
func (s *CallSequencer) Resume() []Call {
	if s.dead {
		return nil
	}
	s.paused = false
	var out []Call
	for _, caller := range slices.Sorted(maps.Keys(s.callers)) {
		q := s.callers[caller]
		for _, c := range q.redo {
			q.inflight[c.Seq] = c
			out = append(out, c)
		}
		q.redo = nil
		out = q.drain(out)
	}
	return out
}

// Kill marks the actor dead for good and returns every call that had not
// completed (in flight, awaiting retry, or buffered), which the caller
// fails with ErrKindActorDied. Later arrivals fail with ErrActorDead.
func (s *CallSequencer) Kill() (failed []Call) {
	s.dead, s.paused = true, true
	for _, caller := range slices.Sorted(maps.Keys(s.callers)) {
		q := s.callers[caller]
		var all []Call
		for _, c := range q.inflight {
			all = append(all, c)
		}
		all = append(all, q.redo...)
		for _, c := range q.pending {
			all = append(all, c)
		}
		slices.SortFunc(all, bySeq)
		failed = append(failed, all...)
	}
	s.callers = map[string]*callerQueue{}
	return failed
}

// InFlight returns the number of delivered, uncompleted calls.
func (s *CallSequencer) InFlight() int {
	n := 0
	for _, q := range s.callers {
		n += len(q.inflight)
	}
	return n
}

// Buffered returns the number of calls held back (out of order, paused or
// awaiting retry).
func (s *CallSequencer) Buffered() int {
	n := 0
	for _, q := range s.callers {
		n += len(q.pending) + len(q.redo)
	}
	return n
}

func bySeq(a, b Call) int { return cmp.Compare(a.Seq, b.Seq) }
