package remote

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/cluster"
)

// Detached named actors outlive their creator's node, name included (as
// in Ray, where a detached actor lives until it is killed). The creator
// is the name's registrant while it lives; it sends the record of each
// detached actor it placed on a peer to that peer, the actor's host, with
// every announcement (rt.namehosted/v1). When the membership reports the
// creator's node dead or gone, and it stays so for creatorGrace, the host
// adopts the record (grt.Node.AdoptName): it becomes the registrant,
// announces the name to its owner with itself as the record's owner (so
// that owners no longer drop it with the dead creator), keeping the
// creation time, and releases it when the actor dies for good. A
// non-detached actor dies with its creator's node instead
// (grt.Node.CreatorNodeGone), and its name is free again.
//
// Membership is eventually consistent: a node declared dead may come back
// (a flap under load). A creator back within creatorGrace keeps its
// actors and names. The directories that dropped the records it
// registered ask it to announce again (rt.namerefresh/v1) as soon as they
// see it alive, instead of leaving the names absent until its next
// periodic round. If a creator comes back later than that, after its
// host adopted a name, both announce the same actor (harmless: the
// record is refreshed), and when the actor dies the host tells the
// creator too (rt.namedied/v1), whose proxy would otherwise keep
// announcing a dead actor's name.

// hostState is the engine's part as the host of detached named actors.
type hostState struct {
	mu sync.Mutex
	// hosted: the records of the detached actors peers created and placed
	// here, as their creators last sent them, and when.
	hosted map[grt.ActorID]hostedName
	// adopted: the creator of each detached actor whose name this node
	// took over.
	adopted map[grt.ActorID]string
	// dropped: the nodes whose records this directory dropped when they
	// were reported gone; one that comes back is asked to announce again.
	dropped map[string]bool
}

// hostedName is a record a creator sent to the actor's host, and when.
type hostedName struct {
	rec  grt.NameRecord
	seen time.Time
}

func newHostState() hostState {
	return hostState{hosted: map[grt.ActorID]hostedName{}, adopted: map[grt.ActorID]string{}, dropped: map[string]bool{}}
}

// droppedFrom records that this directory dropped the records of node.
func (h *hostState) droppedFrom(node string) {
	h.mu.Lock()
	h.dropped[node] = true
	h.mu.Unlock()
}

// tellHost sends rec, the record of a detached actor this node created
// and placed on a peer, to that peer, which takes the name over if this
// node dies (adoptHosted). It goes with every announcement, so the host's
// copy is as fresh as the directory's.
func (e *Engine) tellHost(rec grt.NameRecord) {
	host := rec.Node
	if !rec.Detached || host == "" || host == e.mem.LocalID() || rec.Owner != e.mem.LocalID() {
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
	if rec.Node != e.mem.LocalID() || !rec.Detached {
		return // it moved on, or is not ours to keep
	}
	e.nd.host.mu.Lock()
	e.nd.host.hosted[rec.Actor] = hostedName{rec: rec, seen: time.Now()}
	e.nd.host.mu.Unlock()
}

// creatorGrace is how long a node reported dead or gone must stay so
// before this node kills the actors it created here and adopts the names
// of the detached ones: a node wrongly declared dead under load refutes
// it within milliseconds, and its actors should not die of that. It is
// well inside nameSettle, so that an adopted name reaches its owner
// while lookups there still ask every peer.
const creatorGrace = time.Second

// creatorGone handles the death or departure of node as a creator of
// actors living here, once it has stayed gone for creatorGrace: its
// non-detached actors die with it (grt.Node.CreatorNodeGone), and this
// node adopts the names of its detached ones and announces them.
func (e *Engine) creatorGone(node string) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case <-e.stop:
			return
		case <-time.After(creatorGrace):
		}
		if slices.Contains(e.liveIDs(), node) {
			e.log.Info("a node reported gone is back; the actors it created here live on", "node", node)
			return
		}
		e.node.CreatorNodeGone(node) // runtime/actor_fate.go
		if e.adoptHosted(node) > 0 {
			e.announceNames()
		}
	}()
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
