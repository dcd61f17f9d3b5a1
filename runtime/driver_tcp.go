package runtime

import (
	"fmt"
	"net"
)

// Drivers on other machines.
//
// A node serves its own machine's drivers and workers on a unix socket.
// With NodeConfig.DriverTCPAddr it also accepts drivers over TCP
// (GORAY_ADDRESS=tcp://host:port), like a Ray client connecting to a
// remote head. Such a driver's executable path names a file on its own
// machine, so the node never reads it: it looks the program up by sha256
// in its binary cache and, when it is missing, the driver uploads it in
// chunks before its hello completes (driver_upload.go), so that its first
// task already finds its program. Its working dir (GORAY_WORKING_DIR) is
// a path on its machine too: the driver packs it as a job's working_dir
// package and uploads it the same way when the node lacks it. Objects reach a TCP driver inline, never as
// store files (session.sameHost is false). Only drivers connect this way:
// a worker's hello over TCP is refused.

// listenDriverTCP starts serving TCP drivers when configured.
func (n *Node) listenDriverTCP() error {
	if n.cfg.DriverTCPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", n.cfg.DriverTCPAddr)
	if err != nil {
		return fmt.Errorf("runtime: driver_tcp_addr: %w", err)
	}
	n.tcpLn = ln
	n.wg.Add(1)
	go n.acceptDrivers(ln)
	n.log.Info("serving drivers over TCP", "addr", ln.Addr().String())
	return nil
}

// DriverTCPAddr is the address where drivers on other machines connect
// ("" when the node does not listen on TCP).
func (n *Node) DriverTCPAddr() string {
	if n.tcpLn == nil {
		return ""
	}
	return n.tcpLn.Addr().String()
}

func (n *Node) acceptDrivers(ln net.Listener) {
	defer n.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		n.mu.Lock()
		if n.stopped {
			n.mu.Unlock()
			_ = nc.Close()
			return
		}
		s := n.newSessionLocked()
		n.mu.Unlock()
		s.c = newConn(nc, func(m *msg) { n.handle(s, m) }, func(error) { n.sessionClosed(s) })
		s.c.start()
	}
}
