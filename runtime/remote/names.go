package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// The name directory: each actor name has an owner node, cluster.Owner of
// "actor/"+name over the live members, which keeps its record
// (grt.NameDirectory). See the package doc for the protocol, handover and
// partitions.

// Frame kinds of the name directory.
const (
	kindNameReserve  = "rt.namereserve/v1"  // Caller: JSON NameRecord → JSON nameReply
	kindNameGet      = "rt.nameget/v1"      // Caller: the name → JSON nameReply
	kindNameAnnounce = "rt.nameannounce/v1" // JSON NameRecord, the owner's re-announcement
	kindNameRelease  = "rt.namerelease/v1"  // JSON NameRecord (name and actor): it died for good
	kindNameLost     = "rt.namelost/v1"     // JSON nameLost: the receiver's actor lost its name
	kindNameDied     = "rt.namedied/v1"     // JSON nameDied: the receiver's actor died on another node
	kindNameHosted   = "rt.namehosted/v1"   // JSON NameRecord of a named actor the receiver hosts
	kindNameRefresh  = "rt.namerefresh/v1"  // empty: announce your names again (names_detached.go)
)

// Statuses of a nameReply.
const (
	nameOK       = "ok"       // reserved, or found
	nameTaken    = "taken"    // another actor holds it (Rec)
	nameAbsent   = "absent"   // no record, and the directory is settled
	nameSettling = "settling" // no record, but a handover may be in flight: ask again or everyone
)

type nameReply struct {
	Status string         `json:"status"`
	Rec    grt.NameRecord `json:"rec"`
}

type nameLost struct {
	Lost   grt.NameRecord `json:"lost"`
	Winner grt.NameRecord `json:"winner"`
}

// Timing of the directory.
const (
	// nameSettle is how long after a membership change a directory treats
	// a missing record as "maybe on its way" (the owners of the names
	// that moved re-announce them as soon as they see the change).
	nameSettle = 3 * time.Second
	// nameAnnounceEvery re-announces every named actor even without a
	// membership change, so that a missed event or a lost frame heals.
	nameAnnounceEvery = 10 * time.Second
	// nameExpireAfter forgets a record its registrant stopped announcing
	// (its release was lost): three missed rounds.
	nameExpireAfter = 3 * nameAnnounceEvery
	// nameCallTimeout bounds one question to a name's owner.
	nameCallTimeout = 2 * time.Second
)

// nameDir is the engine's part of the name directory.
type nameDir struct {
	recs     *grt.NameDirectory
	reserve  *cluster.Caller
	get      *cluster.Caller
	changed  atomic.Int64 // unix ns of the last membership change this node saw
	announce sync.Mutex   // one announcement round at a time

	// host: this node's part as the host of detached actors and as a
	// registrant that peers may wrongly have declared dead
	// (names_detached.go).
	host hostState
}

// NameKey is the key whose cluster.Owner keeps the record of the actor
// name.
func NameKey(name string) string { return "actor/" + name }

// startNames subscribes to the directory's frames and starts the periodic
// re-announcement.
func (e *Engine) startNames() {
	e.nd = &nameDir{recs: grt.NewNameDirectory(), host: newHostState(),
		reserve: cluster.NewCaller(e.tr, kindNameReserve), get: cluster.NewCaller(e.tr, kindNameGet)}
	e.cancels = append(e.cancels, e.nd.reserve.Close, e.nd.get.Close,
		cluster.Serve(e.tr, kindNameReserve, e.onNameReserve),
		cluster.Serve(e.tr, kindNameGet, e.onNameGet),
		e.tr.Subscribe(kindNameAnnounce, e.onNameAnnounce),
		e.tr.Subscribe(kindNameRelease, e.onNameRelease),
		e.tr.Subscribe(kindNameLost, e.onNameLost),
		e.tr.Subscribe(kindNameDied, e.onNameDied),
		e.tr.Subscribe(kindNameHosted, e.onNameHosted),
		e.tr.Subscribe(kindNameRefresh, e.onNameRefresh),
	)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(nameAnnounceEvery)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
				e.announceNames()
				if n := e.nd.recs.Expire(nameExpireAfter); n > 0 {
					e.log.Info("forgot actor names nobody announced any more", "names", n)
				}
				e.expireHosted()
			}
		}
	}()
}

// namesMembershipChanged starts the handover after a membership change:
// records of a departed owner node are dropped (their actors died with
// it; the record of an actor that lives on a live host stays until that
// host's verdict on the creator, see grt.NameDirectory.DropGone), and
// every named actor this node created is announced to its name's owner
// as the new view computes it. The actors a departed node created
// here die with it unless they are detached; the detached ones keep their
// names, which this node takes over (creatorGone).
func (e *Engine) namesMembershipChanged(ev cluster.Event) {
	switch ev.Type {
	case cluster.EventJoin, cluster.EventLeave, cluster.EventFailed:
	default:
		return
	}
	if ev.Member.ID == e.mem.LocalID() {
		return
	}
	e.nd.changed.Store(time.Now().UnixNano())
	if ev.Type != cluster.EventJoin {
		live := e.liveIDs()
		if n := e.nd.recs.DropGone(ev.Member.ID, func(node string) bool { return slices.Contains(live, node) }); n > 0 {
			e.log.Info("dropped the actor names of a departed node", "node", ev.Member.ID, "names", n)
			e.nd.host.droppedFrom(ev.Member.ID)
		}
		e.creatorGone(ev.Member) // names_detached.go
	} else {
		e.askRefresh(ev.Member.ID) // names_detached.go
		e.tellFated(ev.Member.ID)  // names_detached.go
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.announceNames()
	}()
}

// liveIDs are the IDs the owners are computed over: alive and suspect
// members (as cluster.Membership.LiveIDs), and always this node.
func (e *Engine) liveIDs() []string {
	self := e.mem.LocalID()
	ids := []string{self}
	for _, m := range e.mem.Members() {
		if m.ID != self && (m.Status == cluster.StatusAlive || m.Status == cluster.StatusSuspect) {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// nameOwner is the node that keeps the record of name in this node's view.
func (e *Engine) nameOwner(name string) string { return cluster.Owner(NameKey(name), e.liveIDs()) }

// settling reports whether this node's directory may be missing the
// record of name because a handover is in flight: the membership changed
// moments ago, or this node does not own the name in its own view (the
// asker's view is ahead of or behind this one).
func (e *Engine) settling(name string) bool {
	return e.recentlyChanged() || e.nameOwner(name) != e.mem.LocalID()
}

// recentlyChanged reports whether this node saw a membership change less
// than nameSettle ago.
func (e *Engine) recentlyChanged() bool {
	return time.Since(time.Unix(0, e.nd.changed.Load())) < nameSettle
}

// announceNames prunes the records this node no longer owns and announces
// this node's named actors to their names' owners.
func (e *Engine) announceNames() {
	e.nd.announce.Lock()
	defer e.nd.announce.Unlock()
	live := e.liveIDs()
	self := e.mem.LocalID()
	if n := e.nd.recs.Prune(func(name string) bool { return cluster.Owner(NameKey(name), live) == self }); n > 0 {
		e.log.Debug("handed over actor names to their new owners", "names", n)
	}
	for _, rec := range e.node.NameRecords() {
		e.announceTo(cluster.Owner(NameKey(rec.Name), live), rec)
	}
}

// announceTo sends rec to the directory on owner through owner's ordered
// outbox (so that a release sent later arrives later), or applies it here;
// a detached actor's record goes to its host too (tellHost).
func (e *Engine) announceTo(owner string, rec grt.NameRecord) {
	e.tellHost(rec)
	if owner == e.mem.LocalID() {
		e.send(owner, func() { e.applyAnnounce(rec) })
		return
	}
	body, _ := json.Marshal(rec)
	e.send(owner, func() {
		if err := e.tr.Send(context.Background(), owner, cluster.Frame{Kind: kindNameAnnounce, Last: true, Payload: body}); err != nil {
			e.log.Debug("cannot announce an actor name; the next round retries", "name", rec.Name, "owner", owner, "err", err)
		}
	})
}

// AnnounceName implements grt.ClusterHooks.
func (e *Engine) AnnounceName(_ context.Context, rec grt.NameRecord) {
	e.announceTo(e.nameOwner(rec.Name), rec)
}

// ReleaseName implements grt.ClusterHooks.
func (e *Engine) ReleaseName(_ context.Context, rec grt.NameRecord) {
	e.adoptedDied(rec) // names_detached.go
	owner := e.nameOwner(rec.Name)
	if owner == e.mem.LocalID() {
		self := owner
		e.send(owner, func() { e.applyRelease(self, rec) })
		return
	}
	body, _ := json.Marshal(grt.NameRecord{Name: rec.Name, Actor: rec.Actor})
	e.send(owner, func() {
		if err := e.tr.Send(context.Background(), owner, cluster.Frame{Kind: kindNameRelease, Last: true, Payload: body}); err != nil {
			// The owner is gone; its successor never learns the name
			// from this node, which no longer announces the dead actor.
			e.log.Debug("cannot release an actor name", "name", rec.Name, "owner", owner, "err", err)
		}
	})
}

// ReserveName implements grt.ClusterHooks: it asks the name's owner,
// again while the owner is unreachable (it may be dead and not yet
// declared so) or settling (a handover is in flight), until ctx ends.
func (e *Engine) ReserveName(ctx context.Context, rec grt.NameRecord, done func(grt.NameRecord, error)) {
	body, err := json.Marshal(rec)
	if err != nil {
		go done(grt.NameRecord{}, err)
		return
	}
	go func() {
		wait := 50 * time.Millisecond
		var last error
		for {
			owner := e.nameOwner(rec.Name)
			var r nameReply
			if owner == e.mem.LocalID() {
				r = e.reserveHere(rec)
			} else {
				cctx, cancel := context.WithTimeout(ctx, nameCallTimeout)
				b, err := e.nd.reserve.Call(cctx, owner, body)
				cancel()
				if err == nil {
					err = json.Unmarshal(b, &r)
				}
				if err != nil {
					r.Status, last = "", fmt.Errorf("ask owner %s: %w", owner, err)
				}
			}
			switch r.Status {
			case nameOK:
				done(rec, nil)
				return
			case nameTaken:
				done(r.Rec, fmt.Errorf("%w: %q is held by actor %s of node %s", grt.ErrNameTaken, rec.Name, r.Rec.Actor, r.Rec.Owner))
				return
			case nameSettling:
				last = fmt.Errorf("owner %s is taking over the name", owner)
			}
			select {
			case <-ctx.Done():
				done(grt.NameRecord{}, fmt.Errorf("reserve %q: %w (last: %v)", rec.Name, ctx.Err(), last))
				return
			case <-e.stop:
				done(grt.NameRecord{}, fmt.Errorf("reserve %q: cluster engine closed", rec.Name))
				return
			case <-time.After(wait):
				wait = min(2*wait, 500*time.Millisecond)
			}
		}
	}()
}

// reserveHere is the directory's answer to a reservation.
func (e *Engine) reserveHere(rec grt.NameRecord) nameReply {
	if cur, ok := e.nd.recs.Lookup(rec.Name); ok {
		if cur.Actor != rec.Actor {
			return nameReply{Status: nameTaken, Rec: cur}
		}
	} else if e.settling(rec.Name) {
		// The holder's owner may not have re-announced it here yet.
		return nameReply{Status: nameSettling}
	}
	if cur, err := e.nd.recs.Reserve(rec); err != nil {
		return nameReply{Status: nameTaken, Rec: cur}
	}
	return nameReply{Status: nameOK, Rec: rec}
}

func (e *Engine) onNameReserve(_ context.Context, _ string, payload []byte) ([]byte, error) {
	var rec grt.NameRecord
	if err := json.Unmarshal(payload, &rec); err != nil {
		return nil, fmt.Errorf("name reserve: %w", err)
	}
	return json.Marshal(e.reserveHere(rec))
}

// lookupHere is the directory's answer to a lookup.
func (e *Engine) lookupHere(name string) nameReply {
	if cur, ok := e.nd.recs.Lookup(name); ok {
		return nameReply{Status: nameOK, Rec: cur}
	}
	if e.settling(name) {
		return nameReply{Status: nameSettling}
	}
	return nameReply{Status: nameAbsent}
}

func (e *Engine) onNameGet(_ context.Context, _ string, payload []byte) ([]byte, error) {
	return json.Marshal(e.lookupHere(string(payload)))
}

// applyAnnounce records an owner's re-announcement and tells the loser of
// a conflict (see grt.NameDirectory.Announce).
func (e *Engine) applyAnnounce(rec grt.NameRecord) {
	res := e.nd.recs.Announce(rec)
	if !res.Kept {
		e.log.Warn("a duplicate actor name was announced; the older actor keeps it", "name", rec.Name,
			"kept", res.Winner.Actor, "kept_owner", res.Winner.Owner, "duplicate", rec.Actor, "duplicate_owner", rec.Owner)
		e.tellLost(rec.Owner, nameLost{Lost: rec, Winner: res.Winner})
	}
	if d := res.Displaced; d != nil {
		e.log.Warn("a duplicate actor name was announced; the older actor keeps it", "name", rec.Name,
			"kept", rec.Actor, "kept_owner", rec.Owner, "duplicate", d.Actor, "duplicate_owner", d.Owner)
		e.tellLost(d.Owner, nameLost{Lost: *d, Winner: rec})
	}
}

// tellLost tells node that its actor lost its name.
func (e *Engine) tellLost(node string, l nameLost) {
	if node == e.mem.LocalID() {
		go e.node.NameLost(l.Lost, l.Winner)
		return
	}
	body, _ := json.Marshal(l)
	e.send(node, func() {
		if err := e.tr.Send(context.Background(), node, cluster.Frame{Kind: kindNameLost, Last: true, Payload: body}); err != nil {
			e.log.Warn("cannot tell a node that its actor lost its name", "node", node, "name", l.Lost.Name, "err", err)
		}
	})
}

func (e *Engine) onNameAnnounce(_ context.Context, f cluster.Frame) {
	var rec grt.NameRecord
	if err := json.Unmarshal(f.Payload, &rec); err != nil || rec.Name == "" {
		e.log.Warn("bad actor name announcement", "from", f.From, "err", err)
		return
	}
	e.applyAnnounce(rec)
	e.fatedAnnounced(rec) // names_detached.go
}

func (e *Engine) onNameRelease(_ context.Context, f cluster.Frame) {
	var rec grt.NameRecord
	if err := json.Unmarshal(f.Payload, &rec); err != nil {
		e.log.Warn("bad actor name release", "from", f.From, "err", err)
		return
	}
	e.applyRelease(f.From, rec)
}

// applyRelease frees a name released by node from. A release by a node
// other than the actor's creator comes from its host, where it died for
// good: the creator is told, since its proxy does not see that death and
// would otherwise keep announcing the name.
func (e *Engine) applyRelease(from string, rec grt.NameRecord) {
	cur, ok := e.nd.recs.Release(rec.Name, rec.Actor)
	if !ok || cur.Owner == from {
		return
	}
	if cur.Owner == e.mem.LocalID() {
		go e.node.NameDied(cur, from)
		return
	}
	body, _ := json.Marshal(nameDied{Rec: cur, Host: from})
	e.send(cur.Owner, func() {
		if err := e.tr.Send(context.Background(), cur.Owner, cluster.Frame{Kind: kindNameDied, Last: true, Payload: body}); err != nil {
			e.log.Debug("cannot tell a node that its named actor died", "node", cur.Owner, "name", cur.Name, "err", err)
		}
	})
}

type nameDied struct {
	Rec  grt.NameRecord `json:"rec"`
	Host string         `json:"host"`
}

func (e *Engine) onNameDied(_ context.Context, f cluster.Frame) {
	var d nameDied
	if err := json.Unmarshal(f.Payload, &d); err != nil {
		e.log.Warn("bad named-actor death message", "from", f.From, "err", err)
		return
	}
	e.node.NameDied(d.Rec, d.Host)
}

func (e *Engine) onNameLost(_ context.Context, f cluster.Frame) {
	var l nameLost
	if err := json.Unmarshal(f.Payload, &l); err != nil {
		e.log.Warn("bad lost-name message", "from", f.From, "err", err)
		return
	}
	e.node.NameLost(l.Lost, l.Winner)
}

// NameRecords returns the records this node keeps as the owner of their
// names, sorted by name (for the state API and tests).
func (e *Engine) NameRecords() []grt.NameRecord { return e.nd.recs.Records() }

// LocateNamedActor implements grt.ClusterHooks: it asks the name's owner
// (one round trip). While a handover may be in flight (the owner says it
// is settling, or does not answer), it asks every live peer at once
// instead, and the first that hosts a live actor of that name answers.
func (e *Engine) LocateNamedActor(ctx context.Context, name string, done func(string, grt.ActorID, string, error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), nameCallTimeout)
		defer cancel()
		owner := e.nameOwner(name)
		var r nameReply
		var err error
		if owner == e.mem.LocalID() {
			r = e.lookupHere(name)
		} else {
			var b []byte
			if b, err = e.nd.get.Call(ctx, owner, []byte(name)); err == nil {
				err = json.Unmarshal(b, &r)
			}
		}
		switch {
		case err == nil && r.Status == nameOK:
			done(r.Rec.Node, r.Rec.Actor, r.Rec.Class, nil)
			return
		case err == nil && r.Status == nameAbsent && !e.recentlyChanged():
			done("", grt.ActorID{}, "", fmt.Errorf("actor %q: owner %s has no record: %w", name, owner, errActorNotFound))
			return
		}
		e.locateNameEverywhere(context.WithoutCancel(ctx), name, done)
	}()
}

// locateNameEverywhere asks every live peer at once whether it hosts a
// live actor named name; the first yes wins.
func (e *Engine) locateNameEverywhere(ctx context.Context, name string, done func(string, grt.ActorID, string, error)) {
	peers := e.livePeers()
	ctx, cancel := context.WithTimeout(ctx, nameCallTimeout)
	defer cancel()
	type hit struct {
		node  string
		reply []byte
	}
	found := make(chan hit, len(peers))
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b, err := e.names.Call(ctx, p, []byte(name)); err == nil && len(b) >= 16 {
				found <- hit{p, b}
			}
		}()
	}
	go func() { wg.Wait(); close(found) }()
	h, ok := <-found
	if !ok {
		done("", grt.ActorID{}, "", fmt.Errorf("asked %d peers for actor %q: %w", len(peers), name, errActorNotFound))
		return
	}
	var id grt.ActorID
	copy(id[:], h.reply)
	done(h.node, id, string(h.reply[16:]), nil)
}
