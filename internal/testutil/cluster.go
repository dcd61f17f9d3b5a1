package testutil

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goray/goray/runtime/agent"
)

// GoraydPkg is the import path of the daemon NewCluster runs.
const GoraydPkg = "github.com/goray/goray/cmd/gorayd"

// ClusterOption configures NewCluster and NewLocalCluster.
type ClusterOption func(*clusterOptions)

type clusterOptions struct {
	preset     string
	encryptKey string
	token      string
	extraArgs  func(i int) []string
	noWait     bool
	timeout    time.Duration
	netns      bool
}

// WithPreset sets the gossip preset (default "fast").
func WithPreset(p string) ClusterOption { return func(o *clusterOptions) { o.preset = p } }

// WithEncryptKey sets the base64 gossip key on every node.
func WithEncryptKey(k string) ClusterOption { return func(o *clusterOptions) { o.encryptKey = k } }

// WithToken sets the HTTP API bearer token on every node.
func WithToken(tok string) ClusterOption { return func(o *clusterOptions) { o.token = tok } }

// WithArgs adds gorayd flags for node i.
func WithArgs(f func(i int) []string) ClusterOption {
	return func(o *clusterOptions) { o.extraArgs = f }
}

// WithStartTimeout bounds waiting for convergence (default 30 s).
func WithStartTimeout(d time.Duration) ClusterOption {
	return func(o *clusterOptions) { o.timeout = d }
}

// NoWait makes NewCluster return without waiting for convergence.
func NoWait() ClusterOption { return func(o *clusterOptions) { o.noWait = true } }

func buildOptions(opts []ClusterOption) clusterOptions {
	o := clusterOptions{preset: "fast", timeout: 30 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// NodeIP is the loopback address of node i: 127.0.X.(10+i), where X is
// this test process's own (ipOctet). Linux routes all of 127.0.0.0/8 to
// lo, so every node gets its own address without setup.
func NodeIP(i int) string { return fmt.Sprintf("127.0.%d.%d", ipOctet, 10+i) }

// ipOctet keeps the clusters of test processes that run at the same time
// apart (go test runs packages in parallel): with one shared address per
// node index, two processes could hand out the same port on the
// same address, and the later daemon failed to bind it.
var ipOctet = 1 + os.Getpid()%250

// Node is one gorayd process of a Cluster.
type Node struct {
	Name       string
	IP         string
	GossipPort int
	RPCPort    int
	HTTPPort   int
	Args       []string // everything but -join

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status
}

// Running reports whether the process is alive.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// GossipAddr is the node's gossip host:port.
func (n *Node) GossipAddr() string { return net.JoinHostPort(n.IP, strconv.Itoa(n.GossipPort)) }

// Cluster is a set of real gorayd processes on one machine.
type Cluster struct {
	t     testing.TB
	bin   string
	opts  clusterOptions
	Nodes []*Node
	http  *http.Client
	net   *netnsSetup // nil unless InNetns
	root  string      // the nodes' data directories live under it
}

// NewCluster starts n gorayd processes on NodeIP(0), NodeIP(1), ... with free
// ports and the fast gossip preset; node 0 is the seed and every other node
// joins it. It waits (unless NoWait) until every node lists n alive members.
// Each node's log lines go to t.Log prefixed with its name; everything is
// killed in t.Cleanup.
func NewCluster(t testing.TB, n int, opts ...ClusterOption) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: BuildBinary(t, GoraydPkg), opts: buildOptions(opts), http: &http.Client{Timeout: 2 * time.Second}}
	if c.opts.netns {
		c.net = newNetns(t)
		// Reach each node's HTTP API from inside its own namespace, so it
		// answers even while partitioned.
		c.http.Transport = &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, _ := net.SplitHostPort(addr)
				for i, n := range c.Nodes {
					if n.IP == host {
						return dialIn(ctx, c.net.ns(i), network, addr)
					}
				}
				return nil, fmt.Errorf("no namespace for %s", addr)
			},
		}
	}
	// The temporary directory is made before killAll is registered:
	// cleanups run last-in first-out, so the daemons are dead before
	// testing removes their data directories. The other way round,
	// RemoveAll raced a live daemon that was still writing a job's files
	// ("directory not empty").
	c.root = t.TempDir()
	t.Cleanup(c.killAll)
	for range n {
		c.Add(nil)
	}
	if !c.opts.noWait {
		c.WaitConverged(n)
	}
	return c
}

// Add starts one more node (index len(Nodes)) joining node 0 (unless it is
// node 0), with extra gorayd flags; it does not wait for it to join.
func (c *Cluster) Add(extra []string) int {
	c.t.Helper()
	i := len(c.Nodes)
	ip := NodeIP(i)
	ports := make([]int, 3)
	if c.net != nil {
		// A namespace of its own: the default ports are free.
		c.net.addNode(c.t, i)
		ip = netnsIP(i)
		ports = []int{agent.DefaultGossipPort, agent.DefaultRPCPort, agent.DefaultHTTPPort}
	}
	for k := range ports {
		if ports[k] != 0 {
			continue
		}
		p, err := FreePort(ip)
		if err != nil {
			c.t.Fatal(err)
		}
		ports[k] = p
	}
	node := &Node{Name: fmt.Sprintf("node%d", i), IP: ip, GossipPort: ports[0], RPCPort: ports[1], HTTPPort: ports[2]}
	dataDir := filepath.Join(c.root, node.Name)
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	node.Args = []string{
		"-node_name", node.Name,
		"-gossip.bind_addr", ip, "-gossip.port", strconv.Itoa(node.GossipPort), "-gossip.preset", c.opts.preset,
		"-rpc.bind_addr", ip, "-rpc.port", strconv.Itoa(node.RPCPort),
		"-http.bind_addr", ip, "-http.port", strconv.Itoa(node.HTTPPort),
		"-data_dir", dataDir,
		"-resources.cpu", "2", "-resources.memory", "1GiB", "-resources.gpu", "0",
		"-object_store.memory", "256MiB", "-log.level", "debug",
	}
	if c.opts.encryptKey != "" {
		node.Args = append(node.Args, "-gossip.encrypt_key", c.opts.encryptKey)
	}
	if c.opts.token != "" {
		node.Args = append(node.Args, "-http.token", c.opts.token)
	}
	if c.opts.extraArgs != nil {
		node.Args = append(node.Args, c.opts.extraArgs(i)...)
	}
	node.Args = append(node.Args, extra...)
	c.Nodes = append(c.Nodes, node)
	c.start(i)
	return i
}

// joinArgs lists every other node's gossip address as a seed; JoinRetry
// needs only one to answer.
func (c *Cluster) joinArgs(i int) []string {
	var args []string
	for j, n := range c.Nodes {
		if j != i {
			args = append(args, "-join", n.GossipAddr())
		}
	}
	return args
}

func (c *Cluster) start(i int) {
	c.t.Helper()
	node := c.Nodes[i]
	args := append(append([]string{}, node.Args...), c.joinArgs(i)...)
	cmd := exec.Command(c.bin, args...)
	if c.net != nil {
		// ip netns exec execs the daemon in place: same PID, so signals
		// and Pdeathsig reach gorayd itself.
		cmd = exec.Command("ip", append([]string{"netns", "exec", c.net.ns(i), c.bin}, args...)...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", node.Name, err)
	}
	done := make(chan struct{})
	logDone := make(chan struct{})
	name := node.Name
	lw := &lineWriter{emit: func(line string) { c.t.Log(name + ": " + line) }}
	c.t.Cleanup(lw.stop)
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			_, _ = lw.Write(append(sc.Bytes(), '\n'))
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-logDone // Wait closes the pipe; read it to the end first
		err := cmd.Wait()
		node.mu.Lock()
		node.err = err
		node.mu.Unlock()
		close(done)
	}()
	node.mu.Lock()
	node.cmd, node.done = cmd, done
	node.mu.Unlock()
}

// killAll SIGKILLs every process group and waits for the processes.
func (c *Cluster) killAll() {
	for _, n := range c.Nodes {
		n.mu.Lock()
		cmd, done := n.cmd, n.done
		n.mu.Unlock()
		if cmd == nil || cmd.Process == nil {
			continue
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.t.Errorf("%s did not exit after SIGKILL", n.Name)
		}
	}
}

// signal sends sig to node i and waits up to timeout for it to exit,
// returning its exit error.
func (c *Cluster) signal(i int, sig syscall.Signal, timeout time.Duration) error {
	c.t.Helper()
	n := c.Nodes[i]
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		c.t.Fatalf("%s was never started", n.Name)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("signal %s: %v", n.Name, err)
	}
	select {
	case <-done:
	case <-time.After(timeout):
		c.t.Fatalf("%s did not exit within %v of %v", n.Name, timeout, sig)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

// Kill SIGKILLs node i (a crash) and waits for the process to be gone.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	_ = c.signal(i, syscall.SIGKILL, 10*time.Second)
}

// Stop SIGTERMs node i (graceful leave) and returns its exit error (nil for
// a clean exit).
func (c *Cluster) Stop(i int) error {
	c.t.Helper()
	return c.signal(i, syscall.SIGTERM, 15*time.Second)
}

// Restart starts node i again on the same addresses (it must have exited),
// joining the other nodes. It does not wait for convergence.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Nodes[i].Running() {
		c.t.Fatalf("Restart(%d): node is still running", i)
	}
	c.start(i)
}

// Partition cuts node i off from every other node (InNetns only).
func (c *Cluster) Partition(i int) {
	c.t.Helper()
	c.setLink("Partition", i, false)
}

// Heal reconnects node i after Partition.
func (c *Cluster) Heal(i int) {
	c.t.Helper()
	c.setLink("Heal", i, true)
}

// setLink brings node i's link to the others up or down for op, failing
// the test when the cluster has no network namespaces to cut.
func (c *Cluster) setLink(op string, i int, up bool) {
	c.t.Helper()
	if c.net == nil {
		c.t.Fatal(op + " needs InNetns")
	}
	if err := c.net.setLink(i, up); err != nil {
		c.t.Fatalf("%s(%d): %v", op, i, err)
	}
}

// HTTP is node i's HTTP API base URL.
func (c *Cluster) HTTP(i int) string {
	n := c.Nodes[i]
	return "http://" + net.JoinHostPort(n.IP, strconv.Itoa(n.HTTPPort))
}

// GetJSON fetches path from node i's HTTP API into v (with the cluster's
// token, if any).
func (c *Cluster) GetJSON(ctx context.Context, i int, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.HTTP(i)+path, nil)
	if err != nil {
		return err
	}
	if c.opts.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Members returns node i's /v1/nodes view, or nil if it does not answer.
func (c *Cluster) Members(i int) []agent.NodeView {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var r agent.NodesResponse
	if err := c.GetJSON(ctx, i, "/v1/nodes", &r); err != nil {
		return nil
	}
	return r.Nodes
}

// NodeID is node i's current node ID ("" if it does not answer).
func (c *Cluster) NodeID(i int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var h agent.HealthResponse
	if err := c.GetJSON(ctx, i, "/v1/health", &h); err != nil {
		return ""
	}
	return h.NodeID
}

// CountState counts the members node i lists in state ("alive", "dead", ...).
func (c *Cluster) CountState(i int, state string) int {
	k := 0
	for _, m := range c.Members(i) {
		if m.State == state {
			k++
		}
	}
	return k
}

// StateOf is the state node i reports for node ID id ("" if not listed).
func (c *Cluster) StateOf(i int, id string) string {
	for _, m := range c.Members(i) {
		if m.ID == id {
			return m.State
		}
	}
	return ""
}

// WaitConverged waits until every running node lists want alive members.
func (c *Cluster) WaitConverged(want int) time.Duration {
	c.t.Helper()
	return WaitFor(c.t, c.opts.timeout, func() bool {
		for i, n := range c.Nodes {
			if n.Running() && c.CountState(i, "alive") != want {
				return false
			}
		}
		return true
	}, fmt.Sprintf("every running node lists %d alive members", want))
}
