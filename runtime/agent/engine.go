package agent

// DriverAddresser is implemented by an Engine that accepts driver
// connections on this machine. The agent publishes the address in
// /v1/nodes and /v1/status (NodeView.DriverAddress), which is how a driver
// given only the daemon's HTTP address finds the engine to connect to.
// It is a separate interface so that engines without drivers (test doubles,
// a gossip-only member) need not implement it.
type DriverAddresser interface {
	// DriverAddress is the address for goray.Init, e.g.
	// "unix:///var/lib/gorayd/node.sock".
	DriverAddress() string
}

// DriverAddress is the engine's driver address ("" without an engine, or
// when the engine takes no drivers).
func (a *Agent) DriverAddress() string {
	a.mu.Lock()
	e := a.engine
	a.mu.Unlock()
	if d, ok := e.(DriverAddresser); ok {
		return d.DriverAddress()
	}
	return ""
}
