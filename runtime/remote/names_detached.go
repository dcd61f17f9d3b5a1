package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// Detached named actors outlive their creator's node, name included (as
// in Ray, where a detached actor lives until it is killed). The creator
// is the name's registrant while it lives; it sends the record of each
// named actor it placed on a peer, detached or not, to that peer, the
// actor's host, with every announcement (rt.namehosted/v1). A
// non-detached actor dies with its creator's node instead
// (grt.Node.CreatorNodeGone), and its name is free again, but only once
// it is dead: until then the name is taken.
//
// What counts as gone: the membership's word is not enough, because the
// failure detector declares a node dead that merely stalled (a stopped
// process, a loaded machine) and the actors cannot be brought back. When
// the membership reports a creator's node dead or gone, the directories
// keep the records of its actors that live on live hosts
// (grt.NameDirectory.DropGone), and the host relays the records it holds
// for it to their names' owners at once (so that the names resolve, and
// stay taken, without a gap where the owner moved), waits creatorGrace,
// and then asks
// the node directly for a reply (cluster.RPC.ProbeAddr, within
// creatorProbeTimeout). Only when that fails too, while the membership
// still has the node gone, does the host kill the non-detached actors the
// node created, which releases their names (the host releases the name of
// an actor that dies there for good), and adopt the names of the detached
// ones (grt.Node.AdoptName): it becomes the registrant, announces each
// name with itself as the record's owner, keeping the creation time, and
// releases it when the actor dies for good. A node that answers is
// checked again every creatorRecheck, its records relayed again, until
// the membership has it alive or it stops answering.
//
// What a returning creator finds: one back before that verdict keeps its
// actors and names, and the directories that dropped the records it
// registered ask it to announce again (rt.namerefresh/v1) as soon as they
// see it alive. One that comes back later (it was partitioned, or stalled
// past the probe) finds its non-detached actors on this host dead: the
// host remembers each one it killed, and when the node is alive again (a
// join event, or an announcement of one of those names) tells it
// (rt.namedied/v1), so that its proxy dies and releases the name instead
// of announcing a dead actor's name for ever. Its detached actors live
// on, adopted: both nodes then announce the same record of the same actor
// (the directory refreshes it, whichever owner it names), and when the
// actor dies the host tells the creator too, whose proxy dies with it.

// hostState is the engine's part as the host of detached named actors.
type hostState struct {
	mu sync.Mutex
	// hosted: the records of the named actors peers created and placed
	// here, detached or not, as their creators last sent them, and when.
	hosted map[grt.ActorID]hostedName
	// adopted: the creator of each detached actor whose name this node
	// took over.
	adopted map[grt.ActorID]string
	// dropped: the nodes whose records this directory dropped when they
	// were reported gone; one that comes back is asked to announce again.
	dropped map[string]bool
	// fated: the named actors this node killed because their creator's
	// node was gone, by that node: one that comes back is told, so that
	// its proxies die and release the names.
	fated map[string][]grt.NameRecord
	// checks: the latest creatorGone check of each node; an older check
	// that finds a newer one running ends.
	checks    map[string]uint64
	nextCheck uint64
}

// hostedName is a record a creator sent to the actor's host, and when.
type hostedName struct {
	rec  grt.NameRecord
	seen time.Time
}

func newHostState() hostState {
	return hostState{hosted: map[grt.ActorID]hostedName{}, adopted: map[grt.ActorID]string{}, dropped: map[string]bool{},
		fated: map[string][]grt.NameRecord{}, checks: map[string]uint64{}}
}

// droppedFrom records that this directory dropped the records of node.
func (h *hostState) droppedFrom(node string) {
	h.mu.Lock()
	h.dropped[node] = true
	h.mu.Unlock()
}

// tellHost sends rec, the record of a named actor this node created and
// placed on a peer, to that peer: if this node is reported gone, the host
// relays it to the name's owner until its verdict (relayHosted), so that
// the name of the live actor stays taken, and then takes a detached
// actor's name over (adoptHosted) or releases a non-detached one's as
// the actor dies. It goes with every announcement, so the host's copy is
// as fresh as the directory's.
func (e *Engine) tellHost(rec grt.NameRecord) {
	host := rec.Node
	if host == "" || host == e.mem.LocalID() || rec.Owner != e.mem.LocalID() {
		return
	}
	body, _ := json.Marshal(rec)
	e.send(host, func() {
		if err := e.tr.Send(context.Background(), host, cluster.Frame{Kind: kindNameHosted, Last: true, Payload: body}); err != nil {
			e.log.Debug("cannot tell a node the name of the detached actor it hosts; the next round retries", "name", rec.Name, "node", host, "err", err)
		}
	})
}

func (e *Engine) onNameHosted(_ context.Context, f cluster.Frame) {
	var rec grt.NameRecord
	if err := json.Unmarshal(f.Payload, &rec); err != nil || rec.Name == "" || rec.Owner != f.From {
		e.log.Warn("bad hosted actor name", "from", f.From, "err", err)
		return
	}
	if rec.Node != e.mem.LocalID() {
		return // it moved on
	}
	e.nd.host.mu.Lock()
	e.nd.host.hosted[rec.Actor] = hostedName{rec: rec, seen: time.Now()}
	e.nd.host.mu.Unlock()
}

// Timing of the creator checks (creatorGone).
const (
	// creatorGrace is how long a node reported dead or gone must stay so
	// before this node checks it directly: a node wrongly declared dead
	// refutes it within milliseconds when it was only slow.
	creatorGrace = time.Second
	// creatorProbeTimeout bounds the direct check: a node that died
	// refuses it at once, a stalled or partitioned one does not answer. It
	// is longer than the stalls a loaded machine makes (the failure
	// detector of the fast preset declares a node dead after ~0.4 s).
	creatorProbeTimeout = 3 * time.Second
	// creatorRecheck is how often a node declared gone that answered the
	// check is checked again while the membership still has it gone.
	creatorRecheck = 2 * time.Second
)

// prober is the part of cluster.RPC that reaches a node the membership
// declared dead; a transport without it (tests' in-memory ones) leaves
// the membership's word final.
type prober interface {
	ProbeAddr(ctx context.Context, nodeID, addr string) error
}

// creatorGone handles the death or departure of m as a creator of actors
// living here (see the file comment): it relays the detached records m
// registered, and once m stays gone for creatorGrace and does not answer
// a direct check, kills its non-detached actors and adopts the names of
// its detached ones.
func (e *Engine) creatorGone(m cluster.Member) {
	node := m.ID
	h := &e.nd.host
	h.mu.Lock()
	h.nextCheck++
	check := h.nextCheck
	h.checks[node] = check
	h.mu.Unlock()
	e.relayHosted(node)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			h.mu.Lock()
			if h.checks[node] == check {
				delete(h.checks, node)
			}
			h.mu.Unlock()
		}()
		for wait := creatorGrace; ; wait = creatorRecheck {
			select {
			case <-e.stop:
				return
			case <-time.After(wait):
			}
			h.mu.Lock()
			superseded := h.checks[node] != check
			h.mu.Unlock()
			if superseded {
				return
			}
			if e.isLive(node) {
				e.log.Info("a node reported gone is back; the actors it created here live on", "node", node)
				return
			}
			err := e.probeCreator(node, m.RPCAddr)
			if err != nil && !e.isLive(node) {
				e.log.Info("a node reported gone does not answer either; the actors it created here die with it", "node", node, "err", err)
				break
			}
			if err == nil {
				e.log.Info("a node reported gone answers directly; the actors it created here live on", "node", node)
				// Its names stay taken while the membership has it gone:
				// keep their records fresh at their owners, which may have
				// changed or expire a record nobody announces.
				e.relayHosted(node)
			}
		}
		e.creatorDead(node)
	}()
}

// isLive reports whether node is alive or suspect in this node's view.
func (e *Engine) isLive(node string) bool { return slices.Contains(e.liveIDs(), node) }

// probeCreator asks node, last seen at addr, for a direct reply within
// creatorProbeTimeout (or until the engine stops). Without a prober, or
// an address, the membership's verdict stands and it returns an error.
func (e *Engine) probeCreator(node, addr string) error {
	p, ok := e.tr.(prober)
	if !ok {
		return fmt.Errorf("probe %s: the transport cannot reach a node declared gone", node)
	}
	ctx, cancel := context.WithTimeout(context.Background(), creatorProbeTimeout)
	defer cancel()
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return p.ProbeAddr(ctx, node, addr)
}

// creatorDead is the verdict on node, gone and not answering: the
// non-detached actors it created here die (remembered in fated, for the
// case that it comes back) and their names are released at their owners
// as they die (grt.Node.nameDiedLocked, through ReleaseName), and this
// node adopts the names of its detached ones.
func (e *Engine) creatorDead(node string) {
	killed := e.node.CreatorNodeGone(node) // runtime/actor_fate.go
	h := &e.nd.host
	h.mu.Lock()
	for _, rec := range killed {
		if rec.Name != "" {
			h.fated[node] = append(h.fated[node], rec)
		}
	}
	h.mu.Unlock()
	if e.adoptHosted(node) > 0 {
		e.announceNames()
	}
	if e.isLive(node) {
		e.tellFated(node) // it came back while the verdict was made
	}
}

// tellFated tells node, alive after all, that the named actors this node
// killed because it seemed gone are dead, so that its proxies die and
// release the names. What cannot be sent waits for the next sighting.
func (e *Engine) tellFated(node string) {
	h := &e.nd.host
	h.mu.Lock()
	recs := h.fated[node]
	delete(h.fated, node)
	h.mu.Unlock()
	for _, rec := range recs {
		e.log.Info("a node thought gone is back; telling it that the actor it created died with its absence",
			"node", node, "name", rec.Name, "actor", rec.Actor)
		body, _ := json.Marshal(nameDied{Rec: rec, Host: e.mem.LocalID()})
		e.send(node, func() {
			if err := e.tr.Send(context.Background(), node, cluster.Frame{Kind: kindNameDied, Last: true, Payload: body}); err != nil {
				e.log.Debug("cannot tell a node that the named actor it created died; telling it when next seen", "node", node, "name", rec.Name, "err", err)
				h.mu.Lock()
				h.fated[node] = append(h.fated[node], rec)
				h.mu.Unlock()
			}
		})
	}
}

// fatedAnnounced tells rec's registrant, which announced rec, that its
// actor died here, if this node killed it for fate sharing: the
// registrant is alive, and keeps the name of a dead actor otherwise.
func (e *Engine) fatedAnnounced(rec grt.NameRecord) {
	h := &e.nd.host
	h.mu.Lock()
	found := slices.ContainsFunc(h.fated[rec.Owner], func(r grt.NameRecord) bool { return r.Actor == rec.Actor })
	h.mu.Unlock()
	if found {
		e.tellFated(rec.Owner)
	}
}

// relayHosted announces the records of the named actors that node,
// reported gone, created and placed here, as node last sent them, to
// their names' owners in this node's new view: the names keep resolving
// while this node decides whether node is really gone, even where the
// owner moved away from node. A record whose actor no longer lives here
// is not relayed.
func (e *Engine) relayHosted(node string) {
	h := &e.nd.host
	h.mu.Lock()
	var recs []grt.NameRecord
	for _, hn := range h.hosted {
		if hn.rec.Owner == node {
			recs = append(recs, hn.rec)
		}
	}
	h.mu.Unlock()
	for _, rec := range recs {
		if id, _, ok := e.node.NamedActor(rec.Name); ok && id == rec.Actor {
			e.announceTo(e.nameOwner(rec.Name), rec)
		}
	}
}

// adoptHosted takes over the names of the detached actors that node, which
// died or left, created and placed here. It returns how many it adopted.
func (e *Engine) adoptHosted(node string) int {
	h := &e.nd.host
	h.mu.Lock()
	var recs []grt.NameRecord
	for id, hn := range h.hosted {
		if hn.rec.Owner == node {
			recs = append(recs, hn.rec)
			delete(h.hosted, id)
		}
	}
	h.mu.Unlock()
	n := 0
	for _, rec := range recs {
		if e.adopt(rec) {
			n++
		}
	}
	return n
}

// adopt makes this node the registrant of rec's name if its actor still
// lives here, and reports whether it did.
func (e *Engine) adopt(rec grt.NameRecord) bool {
	if !e.node.AdoptName(rec) {
		return false
	}
	e.nd.host.mu.Lock()
	e.nd.host.adopted[rec.Actor] = rec.Owner
	e.nd.host.mu.Unlock()
	return true
}

// adoptedDied tells the creator of an adopted actor that died for good,
// if that creator is alive after all (it was declared dead wrongly and
// may still announce the name), so that its proxy dies too.
func (e *Engine) adoptedDied(rec grt.NameRecord) {
	h := &e.nd.host
	h.mu.Lock()
	creator, ok := h.adopted[rec.Actor]
	delete(h.adopted, rec.Actor)
	delete(h.hosted, rec.Actor) // it died here: nothing to relay or adopt
	h.mu.Unlock()
	if !ok || !slices.Contains(e.liveIDs(), creator) {
		return
	}
	rec.Owner = creator
	body, _ := json.Marshal(nameDied{Rec: rec, Host: e.mem.LocalID()})
	e.send(creator, func() {
		if err := e.tr.Send(context.Background(), creator, cluster.Frame{Kind: kindNameDied, Last: true, Payload: body}); err != nil {
			e.log.Debug("cannot tell a node that the named actor it created died", "node", creator, "name", rec.Name, "err", err)
		}
	})
}

// expireHosted forgets the hosted records their creators stopped sending
// (the actor died, moved, or never arrived here), and the dropped nodes
// the membership no longer lists.
func (e *Engine) expireHosted() {
	listed := map[string]bool{}
	for _, m := range e.mem.Members() {
		listed[m.ID] = true
	}
	h := &e.nd.host
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, hn := range h.hosted {
		if time.Since(hn.seen) > nameExpireAfter {
			delete(h.hosted, id)
		}
	}
	for node := range h.dropped {
		if !listed[node] {
			delete(h.dropped, node)
		}
	}
	for node := range h.fated {
		if !listed[node] {
			delete(h.fated, node) // it never came back
		}
	}
}

// askRefresh asks node, which joined, to announce its names again if this
// directory dropped its records when it was reported gone: it may have
// been alive all along, and it saw no membership change that would make
// it announce.
func (e *Engine) askRefresh(node string) {
	h := &e.nd.host
	h.mu.Lock()
	was := h.dropped[node]
	delete(h.dropped, node)
	h.mu.Unlock()
	if !was {
		return
	}
	e.send(node, func() {
		if err := e.tr.Send(context.Background(), node, cluster.Frame{Kind: kindNameRefresh, Last: true}); err != nil {
			e.log.Debug("cannot ask a node to announce its actor names; its next round does", "node", node, "err", err)
		}
	})
}

func (e *Engine) onNameRefresh(context.Context, cluster.Frame) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.announceNames()
	}()
}
