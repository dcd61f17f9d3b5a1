package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Named actors across a cluster.
//
// A name is reserved at the node that owns it (cluster.Owner over the live
// members, computed by the cluster hooks) before the actor is created, so
// that two nodes creating the same name at once cannot both succeed. The
// node that created the actor (its owner, which restarts it or declares it
// dead) is the registrant: it re-announces its named actors whenever the
// membership changes, so that the record follows the name's owner, and
// releases the name when the actor dies for good. The hosting node also
// releases it when the actor dies there for good, because the creator's
// proxy does not learn of that death. A detached actor is not fate-shared
// with its creator: when the creator's node dies, the node hosting the
// actor becomes the registrant (AdoptName) and the name lives on with the
// actor. NameDirectory is the record keeper the owner runs; it is pure
// logic, table-tested.

// ErrNameTaken is the directory's answer to a reservation of a name that
// another live actor holds. It surfaces to users as ErrKindActorExists.
var ErrNameTaken = errors.New("runtime: actor name taken")

// NameRecord is the directory's entry for one named actor.
type NameRecord struct {
	Name  string  `json:"name"`
	Actor ActorID `json:"actor"`
	Class string  `json:"class"`
	// Owner is the name's registrant: the node that created the actor
	// and decides its restarts and death, or, once that node died, the
	// node hosting a detached actor (Node.AdoptName). The record dies
	// with it.
	Owner string `json:"owner"`
	// Node is where the actor lives as far as Owner knows ("" while it is
	// being placed again).
	Node string `json:"node,omitempty"`
	// Created is when Owner reserved the name (unix nanoseconds on
	// Owner's clock). It decides a duplicate found after a partition
	// heals: the older record keeps the name.
	Created int64 `json:"created"`
	// Detached: the actor is not fate-shared with its creator, so its
	// host takes the record over when the creator's node dies.
	Detached bool `json:"detached,omitempty"`
}

// Wins reports whether r keeps the name against other, a record of a
// different actor holding the same name: the older one wins, ties broken
// by owner node ID and then actor ID so that every directory agrees.
func (r NameRecord) Wins(other NameRecord) bool {
	if r.Created != other.Created {
		return r.Created < other.Created
	}
	if r.Owner != other.Owner {
		return r.Owner < other.Owner
	}
	return bytes.Compare(r.Actor[:], other.Actor[:]) < 0
}

// AnnounceResult is the directory's verdict on a re-announced record.
type AnnounceResult struct {
	// Kept: the announced record holds the name (new, refreshed, or it
	// won a conflict).
	Kept bool
	// Winner is the record that holds the name when the announced one
	// lost (Kept false).
	Winner NameRecord
	// Displaced is the record the announced one replaced after winning a
	// conflict: its owner must be told that its actor lost the name.
	Displaced *NameRecord
}

// NameDirectory is the set of name records a node owns. It is safe for
// concurrent use.
type NameDirectory struct {
	mu      sync.Mutex
	entries map[string]NameRecord
	// seen: when each name's record was last reserved or announced, for
	// Expire.
	seen map[string]time.Time
	now  func() time.Time
}

// NewNameDirectory returns an empty directory.
func NewNameDirectory() *NameDirectory {
	return &NameDirectory{entries: map[string]NameRecord{}, seen: map[string]time.Time{}, now: time.Now}
}

// setLocked records rec as held now.
func (d *NameDirectory) setLocked(rec NameRecord) {
	d.entries[rec.Name] = rec
	d.seen[rec.Name] = d.now()
}

// deleteLocked forgets name.
func (d *NameDirectory) deleteLocked(name string) {
	delete(d.entries, name)
	delete(d.seen, name)
}

// Expire forgets the records that nobody reserved or announced within
// maxAge: their registrants re-announce them periodically, so a record
// they stopped announcing belongs to an actor whose release was lost.
// It returns how many it dropped.
func (d *NameDirectory) Expire(maxAge time.Duration) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	now := d.now()
	for k := range d.entries {
		if now.Sub(d.seen[k]) > maxAge {
			d.deleteLocked(k)
			n++
		}
	}
	return n
}

// Reserve records rec unless another actor holds the name, in which case
// it returns that holder and an error wrapping ErrNameTaken. Reserving a
// name the same actor already holds refreshes the record (a retried
// reservation, or a move), keeping its creation time.
func (d *NameDirectory) Reserve(rec NameRecord) (NameRecord, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, ok := d.entries[rec.Name]
	if ok && cur.Actor != rec.Actor {
		return cur, fmt.Errorf("%w: %q is held by actor %s of node %s", ErrNameTaken, rec.Name, cur.Actor, cur.Owner)
	}
	if ok && cur.Created != 0 {
		rec.Created = cur.Created
	}
	d.setLocked(rec)
	return rec, nil
}

// Announce records rec as re-announced by its owner after a membership
// change. A record of the same actor is refreshed; against a record of
// another actor (a duplicate made on the other side of a partition, or
// during a handover) the older one keeps the name (NameRecord.Wins).
func (d *NameDirectory) Announce(rec NameRecord) AnnounceResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, ok := d.entries[rec.Name]
	switch {
	case !ok:
		d.setLocked(rec)
		return AnnounceResult{Kept: true}
	case cur.Actor == rec.Actor:
		if rec.Node == "" {
			rec.Node = cur.Node
		}
		d.setLocked(rec)
		return AnnounceResult{Kept: true}
	case rec.Wins(cur):
		d.setLocked(rec)
		return AnnounceResult{Kept: true, Displaced: &cur}
	default:
		return AnnounceResult{Winner: cur}
	}
}

// Release frees name if actor holds it, and returns the record it
// removed. A release of an actor that does not hold the name (a loser of
// a conflict, a stale message) leaves the holder alone.
func (d *NameDirectory) Release(name string, actor ActorID) (NameRecord, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cur, ok := d.entries[name]; ok && cur.Actor == actor {
		d.deleteLocked(name)
		return cur, true
	}
	return NameRecord{}, false
}

// Lookup returns the record of name.
func (d *NameDirectory) Lookup(name string) (NameRecord, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.entries[name]
	return r, ok
}

// DropOwner forgets the records whose owner node died or left: their
// actors die with their owner, and nobody is left to release them. It
// returns how many it dropped.
func (d *NameDirectory) DropOwner(node string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k, r := range d.entries {
		if r.Owner == node {
			d.deleteLocked(k)
			n++
		}
	}
	return n
}

// DropGone forgets the records that died with node, which died or left:
// those it registered, except a record whose actor lives on a node that
// is still live, and the records kept that way whose actor lived on node.
// A record of a live actor is kept whether the actor is detached or not:
// a detached actor outlives its creator and its host adopts the name
// shortly, and a non-detached one lives until its host has checked that
// the creator is really gone (a failure detector also declares a stalled
// node dead), then dies and its host releases the name. Dropping the
// record earlier would hand the name of a live actor to another creation.
// live reports whether a node is live in the caller's view. It returns
// how many it dropped.
func (d *NameDirectory) DropGone(node string, live func(node string) bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k, r := range d.entries {
		outlives := r.Node != "" && r.Node != node && live(r.Node)
		orphan := r.Node == node && r.Owner != node && !live(r.Owner)
		if (r.Owner == node && !outlives) || orphan {
			d.deleteLocked(k)
			n++
		}
	}
	return n
}

// Prune forgets the records of the names for which keep is false (names
// this node no longer owns after a membership change: their owners
// re-announce them to the new owner, and a stale copy here would come
// back to life if ownership returned). It returns how many it dropped.
func (d *NameDirectory) Prune(keep func(name string) bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k := range d.entries {
		if !keep(k) {
			d.deleteLocked(k)
			n++
		}
	}
	return n
}

// Records returns every record, sorted by name.
func (d *NameDirectory) Records() []NameRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]NameRecord, 0, len(d.entries))
	for _, r := range d.entries {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// nameReserveTimeout bounds a reservation (the owner may be dead and the
// membership not yet aware of it: the hooks retry until it is).
const nameReserveTimeout = 15 * time.Second

// createActorReplyLocked creates the actor of an mCreateActor request and
// replies to it. A named actor created by a client of this node (not a
// forwarded creation, whose name its creator reserved) first reserves its
// name at the name's owner node; the reply waits for that.
func (n *Node) createActorReplyLocked(s *session, req uint64, spec *TaskSpec) {
	if spec.Name == "" || n.hooks == nil || s.forwarded {
		e := n.createActorLocked(s, spec)
		s.send(&msg{t: mReply, req: req, err: e})
		return
	}
	if e := n.nameTakenLocallyLocked(spec); e != nil {
		s.send(&msg{t: mReply, req: req, err: e})
		return
	}
	rec := NameRecord{Name: spec.Name, Actor: spec.ID, Class: spec.Func, Owner: n.id, Node: n.id, Created: time.Now().UnixNano(), Detached: spec.Detached}
	ctx, cancel := context.WithTimeout(context.Background(), nameReserveTimeout)
	hooks := n.hooks
	hooks.ReserveName(ctx, rec, func(holder NameRecord, err error) {
		cancel()
		n.mu.Lock()
		defer n.mu.Unlock()
		switch {
		case errors.Is(err, ErrNameTaken):
			s.send(&msg{t: mReply, req: req, err: &ErrorInfo{Kind: ErrKindActorExists, Task: spec.Func,
				Message: fmt.Sprintf("actor named %q already exists (actor %s, created on node %s)", spec.Name, holder.Actor, holder.Owner)}})
			return
		case err != nil:
			s.send(&msg{t: mReply, req: req, err: &ErrorInfo{Kind: ErrKindSystem, Task: spec.Func,
				Message: fmt.Sprintf("reserve the actor name %q: %v", spec.Name, err)}})
			return
		case s.closed || n.stopped:
			// Nobody waits for this actor any more.
			hooks.ReleaseName(context.Background(), rec)
			return
		}
		if e := n.createActorLocked(s, spec); e != nil {
			hooks.ReleaseName(context.Background(), rec)
			s.send(&msg{t: mReply, req: req, err: e})
			return
		}
		switch a := n.actors[spec.ID]; {
		case a == nil || a.state == aDead:
			// It died while being created (infeasible, say), before it
			// was known to hold the name.
			hooks.ReleaseName(context.Background(), rec)
		default:
			a.nameCreated = rec.Created
			if a.proxy && a.remote != "" {
				n.nameMovedLocked(a) // placed on a peer already
			}
		}
		s.send(&msg{t: mReply, req: req})
	})
}

// nameTakenLocallyLocked fails a creation whose name a live actor of this
// node holds, without asking the name's owner.
func (n *Node) nameTakenLocallyLocked(spec *TaskSpec) *ErrorInfo {
	if id, ok := n.named[spec.Name]; ok {
		if a := n.actors[id]; a != nil && a.state != aDead {
			return &ErrorInfo{Kind: ErrKindActorExists, Task: spec.Func, Message: fmt.Sprintf("actor named %q already exists", spec.Name)}
		}
	}
	return nil
}

// nameRecordLocked is the record of a's name as its creator announces it.
func (n *Node) nameRecordLocked(a *actorEntry) NameRecord {
	node := n.id
	if a.proxy {
		node = a.remote
	}
	return NameRecord{Name: a.spec.Name, Actor: a.id, Class: a.spec.Func, Owner: n.id, Node: node, Created: a.nameCreated, Detached: a.spec.Detached}
}

// NameRecords returns the records of the live named actors this node
// created (and so announces to their names' owners).
func (n *Node) NameRecords() []NameRecord {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []NameRecord
	for _, a := range n.actors {
		if a.nameCreated != 0 && a.state != aDead && a.spec.Name != "" {
			out = append(out, n.nameRecordLocked(a))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// NameLost tells the node that its actor lost its name to winner, an
// older actor of the same name (a duplicate found when a partition
// healed): the loser is killed for good, so that one actor answers to the
// name, and the kill is logged where operators look.
func (n *Node) NameLost(lost, winner NameRecord) {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.actors[lost.Actor]
	if a == nil || a.state == aDead || a.nameCreated == 0 {
		return
	}
	n.log.Warn("killing a duplicate named actor: an older actor holds its name",
		"name", lost.Name, "actor", lost.Actor, "winner", winner.Actor, "winner_owner", winner.Owner)
	if n.named[lost.Name] == a.id {
		delete(n.named, lost.Name)
	}
	n.killActorLocked(a, true, fmt.Sprintf("duplicate name %q: actor %s of node %s is older", lost.Name, winner.Actor, winner.Owner))
}

// NameDied tells the node that the actor of rec, which it created and
// placed on another node, died there for good (its host released the
// name; the proxy here would not learn it otherwise): the proxy dies too,
// so that the node stops announcing the name and its calls fail at once.
func (n *Node) NameDied(rec NameRecord, host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.actors[rec.Actor]
	if a == nil || !a.proxy || a.state == aDead || a.nameCreated == 0 {
		return
	}
	n.log.Info("a named actor died on its node", "name", rec.Name, "actor", rec.Actor, "node", host)
	n.actorDiedLocked(a, &ErrorInfo{Kind: ErrKindActorDied, Task: a.spec.Func, Message: "the actor died on node " + host})
}

// nameDiedLocked releases the name of actor a, which died for good, at
// the name's owner. Only the actor's creator and its host hold the name;
// a proxy that merely holds a handle (owner nil) does not.
func (n *Node) nameDiedLocked(a *actorEntry) {
	if a.spec.Name == "" || a.owner == nil || n.hooks == nil || n.stopped {
		return
	}
	if !a.owner.forwarded && a.nameCreated == 0 {
		return // never reserved (a local, single-node creation path)
	}
	n.hooks.ReleaseName(context.Background(), NameRecord{Name: a.spec.Name, Actor: a.id, Class: a.spec.Func, Owner: n.id})
}

// nameMovedLocked tells the name's owner where actor a lives now (placed
// on a peer, or again after its node died).
func (n *Node) nameMovedLocked(a *actorEntry) {
	if a.nameCreated == 0 || n.hooks == nil || a.state == aDead {
		return
	}
	n.hooks.AnnounceName(context.Background(), n.nameRecordLocked(a))
}

// AdoptName makes this node the registrant of rec's name: rec is the
// record of a detached actor that lives here, which its creator (rec.Owner)
// announced before that node died or left. A detached actor outlives its
// creator, as in Ray, so its name must too; from now on this node
// announces the name with itself as the record's owner, and releases it
// when the actor dies for good. The creation time is kept, so that a
// duplicate found after a partition heals is judged as before. It
// reports whether it adopted the name: not when the actor is not (or no
// longer) alive here under that name, is not detached, or already has a
// registrant here.
func (n *Node) AdoptName(rec NameRecord) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.actors[rec.Actor]
	if a == nil || a.proxy || a.state == aDead || !a.spec.Detached || a.spec.Name != rec.Name ||
		a.nameCreated != 0 || rec.Created == 0 || n.named[rec.Name] != a.id {
		return false
	}
	a.nameCreated = rec.Created
	n.log.Info("hosting a detached named actor whose creator node is gone; keeping its name",
		"name", rec.Name, "actor", rec.Actor, "creator", rec.Owner)
	return true
}
