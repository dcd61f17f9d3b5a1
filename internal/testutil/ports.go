package testutil

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// FreePort returns a port on ip that is free for both TCP and UDP (gossip
// needs both) and that this process has not handed out before.
//
// The ports come from just below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range). A port the kernel picked for a bind to
// port 0 was free only at that moment: the same call can hand it out
// again (two ports of one node collided that way), and so can any other
// socket's bind to port 0 or outgoing connection, in the time between the
// check and the daemon's own bind. No kernel ever picks a port below its
// ephemeral range by itself, so only an explicit bind can take one of
// these, and the test processes that run at the same time use different
// addresses (NodeIP) and different stretches of the range.
func FreePort(ip string) (int, error) {
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.given == nil {
		ports.lo, ports.hi = portRange()
		ports.next = ports.lo + (os.Getpid()*61)%(ports.hi-ports.lo)
		ports.given = map[string]bool{}
	}
	for range ports.hi - ports.lo {
		p := ports.next
		ports.next++
		if ports.next >= ports.hi {
			ports.next = ports.lo
		}
		key := net.JoinHostPort(ip, strconv.Itoa(p))
		if ports.given[key] || !portFree(ip, p) {
			continue
		}
		ports.given[key] = true
		return p, nil
	}
	return 0, fmt.Errorf("no port in [%d, %d) free for both TCP and UDP on %s", ports.lo, ports.hi, ip)
}

var ports struct {
	mu     sync.Mutex
	lo, hi int
	next   int
	given  map[string]bool // host:port handed out by this process
}

// portRange is the stretch outside the kernel's ephemeral range that
// FreePort uses: up to 12000 ports ending where the kernel's own picks
// begin (32768 by default), or, when that range starts too low, up to
// 10000 ports after it ends. A kernel whose range covers nearly every port
// leaves no such stretch: its own picks may then take one of ours between
// the check and the bind, and only the once-per-process rule still holds.
func portRange() (lo, hi int) {
	eLo, eHi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			a, errA := strconv.Atoi(f[0])
			z, errZ := strconv.Atoi(f[1])
			if errA == nil && errZ == nil && a <= z {
				eLo, eHi = a, z
			}
		}
	}
	switch {
	case eLo >= 11000:
		return max(10000, eLo-12000), eLo
	case eHi <= 64535:
		return eHi + 1, min(65536, eHi+10001)
	default:
		return 20000, 30000
	}
}

// portFree reports whether port is free on ip for TCP and UDP now.
func portFree(ip string, port int) bool {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	_ = u.Close()
	return true
}
