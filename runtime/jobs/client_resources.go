package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// nodesView is the part of a daemon's GET /v1/nodes the resource check
// reads (agent.NodesResponse; decoded here so that the job package does
// not depend on the agent).
type nodesView struct {
	Nodes []struct {
		ID       string             `json:"id"`
		Name     string             `json:"name"`
		State    string             `json:"state"`
		HTTPAddr string             `json:"http_addr"`
		Total    map[string]float64 `json:"resources_total"`
		IsSelf   bool               `json:"is_self"`
	} `json:"nodes"`
}

// preflightResources refuses a driver the cluster could never hold before
// anything is built or uploaded, from the daemon's view of its live
// members. It is only a shortcut: the daemon checks again at submit, so
// a daemon that does not answer here (an older one, a network error)
// leaves the decision to it.
func (c *Client) preflightResources(ctx context.Context, spec *Spec) error {
	if len(spec.Resources.Demand()) == 0 {
		return nil
	}
	resp, err := c.send(ctx, http.MethodGet, "/v1/nodes", nil)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var v nodesView
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return nil
	}
	var nodes []NodeResources
	for _, n := range v.Nodes {
		if n.State == "alive" {
			nodes = append(nodes, NodeResources{ID: n.ID, Name: n.Name, Addr: n.HTTPAddr, Total: n.Total, Self: n.IsSelf})
		}
	}
	// Only the impossible is refused here: a job the receiving daemon
	// cannot hold but a peer can is the daemon's to pass on.
	if err := CheckResources(spec, nodes); errors.Is(err, ErrImpossibleResources) {
		return err
	}
	return nil
}
