package testutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// InNetns runs every node in its own network namespace, joined to the others
// through a bridge in a private hub namespace, so tests can cut and heal the
// network (Partition, Heal) without touching the host's interfaces or any
// other test's traffic. Node i gets 10.77.0.(10+i). Needs root and iproute2;
// NewCluster skips the test otherwise.
func InNetns() ClusterOption { return func(o *clusterOptions) { o.netns = true } }

var netnsSeq atomic.Int64

// netnsSetup holds the namespaces of one cluster.
type netnsSetup struct {
	prefix string
	hub    string
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNetns creates the hub namespace with its bridge, or skips the test when
// namespaces are unavailable.
func newNetns(t testing.TB) *netnsSetup {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespaces need iproute2 (ip)")
	}
	s := &netnsSetup{prefix: fmt.Sprintf("goray-%d-%d", os.Getpid(), netnsSeq.Add(1))}
	s.hub = s.prefix + "-hub"
	if err := ipCmd("netns", "add", s.hub); err != nil {
		t.Skipf("cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() { _ = ipCmd("netns", "del", s.hub) })
	for _, args := range [][]string{
		{"-n", s.hub, "link", "add", "br0", "type", "bridge"},
		{"-n", s.hub, "link", "set", "br0", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			t.Skipf("cannot build the test bridge: %v", err)
		}
	}
	return s
}

func (s *netnsSetup) ns(i int) string { return fmt.Sprintf("%s-n%d", s.prefix, i) }

func netnsIP(i int) string { return fmt.Sprintf("10.77.0.%d", 10+i) }

// addNode creates node i's namespace and wires it to the bridge.
func (s *netnsSetup) addNode(t testing.TB, i int) {
	t.Helper()
	ns := s.ns(i)
	if err := ipCmd("netns", "add", ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ipCmd("netns", "del", ns) })
	veth := fmt.Sprintf("v%d", i)
	for _, args := range [][]string{
		{"-n", s.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"-n", s.hub, "link", "set", veth, "master", "br0"},
		{"-n", s.hub, "link", "set", veth, "up"},
		{"-n", ns, "addr", "add", netnsIP(i) + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
}

// setLink brings node i's bridge port down (cut) or up (heal).
func (s *netnsSetup) setLink(i int, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return ipCmd("-n", s.hub, "link", "set", fmt.Sprintf("v%d", i), state)
}

// dialIn dials addr from inside namespace ns: the socket is created on a
// locked OS thread switched into ns, and stays in ns after the thread
// switches back.
func dialIn(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: Go discards it when this goroutine
			// exits, so no other goroutine runs in the wrong namespace.
			ch <- result{c, err}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}
