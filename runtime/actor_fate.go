package runtime

// Fate sharing across nodes. In Ray an actor is owned by the worker or
// driver that created it and dies with it, unless it is detached. Here a
// creator that exits closes its session, which kills its non-detached
// actors wherever they live (the proxy tells the host). A creator whose
// whole node dies cannot: nothing is left to tell the host. So the host
// does it itself when the membership reports the node dead or gone.

// CreatorNodeGone kills, for good, every non-detached actor living here
// whose creation a peer forwarded from node, which died or left: its
// creator died with it. Detached actors live on (see AdoptName for their
// names). Each killed actor's name is released as it dies (nameDiedLocked):
// the directories kept the record of a live actor while its creator was
// being checked, so that the name stayed taken, and free it now. It
// returns the records of the actors it killed (Owner: node,
// the creator; Name empty for an unnamed actor), so that the caller can
// tell the creator if it turns out to be alive after all: its proxy would
// otherwise keep announcing a dead actor's name. The caller must have
// checked that node is really gone, not merely declared so by a failure
// detector, since the actors cannot be brought back.
func (n *Node) CreatorNodeGone(node string) []NameRecord {
	n.mu.Lock()
	defer n.mu.Unlock()
	var killed []NameRecord
	for _, a := range n.actors {
		if a.proxy || a.state == aDead || a.spec.Detached || a.owner == nil || !a.owner.forwarded ||
			a.owner.origin == nil || a.owner.origin.node != node {
			continue
		}
		n.killActorLocked(a, true, "its creator's node "+node+" is gone")
		killed = append(killed, NameRecord{Name: a.spec.Name, Actor: a.id, Class: a.spec.Func, Owner: node, Node: n.id})
	}
	if len(killed) > 0 {
		n.log.Info("killed the actors whose creator's node is gone", "node", node, "actors", len(killed))
	}
	return killed
}
