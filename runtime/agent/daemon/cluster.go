package daemon

import (
	grt "github.com/goray/goray/runtime"
	"github.com/goray/goray/runtime/remote"
)

// attachCluster connects the node to its peers: scheduling over the
// gossiped node views, tasks forwarded over the daemon transport (see
// runtime/remote). Without a transport or membership (a node not in a
// cluster) the node stays single.
func (d *Daemon) attachCluster(node *grt.Node) {
	tr, mem := d.agent.Transport(), d.agent.Membership()
	if tr == nil || mem == nil {
		return
	}
	remote.New(node, tr, mem, d.log.With("component", "remote")).Start()
}
