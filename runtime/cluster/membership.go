package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Gossip timing presets accepted by Config.Preset.
const (
	// PresetLAN is memberlist.DefaultLANConfig: a SIGKILLed node is declared
	// dead after about 5–7 s.
	PresetLAN = "lan"
	// PresetLocal is memberlist.DefaultLocalConfig (loopback/one host).
	PresetLocal = "local"
	// PresetFast uses the timings Nomad's tests use (probe every 100 ms,
	// 50 ms probe timeout, suspicion multiplier 2, push/pull every 500 ms):
	// failures are detected in well under a second. Meant for tests on one
	// machine; on a loaded host it will raise false suspicions.
	PresetFast = "fast"
)

// Sentinel errors of the membership layer.
var (
	// ErrBadConfig wraps every configuration error.
	ErrBadConfig = errors.New("cluster: bad membership config")
	// ErrNotStarted is returned by calls that need a running memberlist.
	ErrNotStarted = errors.New("cluster: membership not started")
	// ErrJoin means no seed address answered.
	ErrJoin = errors.New("cluster: join failed")
	// ErrIncompatiblePeer means a peer's metadata has another format version.
	ErrIncompatiblePeer = errors.New("cluster: incompatible peer")
)

// Config configures a Membership.
type Config struct {
	// Meta is this node's advertisement. Meta.ID may be empty: a fresh random
	// ID is then generated (the usual case: one identity per run).
	Meta NodeMeta
	// BindAddr and BindPort are where memberlist listens (UDP and TCP on one
	// port). Port 0 picks a free port.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are what peers dial; empty/0 mean the
	// bind address/port.
	AdvertiseAddr string
	AdvertisePort int
	// Preset selects gossip timings: PresetLAN (default), PresetLocal,
	// PresetFast.
	Preset string
	// EncryptKey, when set, encrypts all gossip with AES-GCM; 16, 24 or 32
	// bytes. Nodes without the same key can neither join nor read gossip.
	EncryptKey []byte
	// DeadRetention bounds how many dead or left members are remembered for
	// display (memberlist itself forgets them after GossipToTheDeadTime).
	// 0 means 256.
	DeadRetention int
	// ReconnectInterval is how often the node tries to rejoin failed (not
	// left) members, so that a healed partition merges again even after
	// memberlist stopped gossiping to the dead (as Serf's reconnect does).
	// 0 means 1 s with PresetFast and 30 s otherwise; negative disables.
	ReconnectInterval time.Duration
	// ReconnectTimeout is how long a failed member is retried; 0 means 24 h.
	ReconnectTimeout time.Duration
}

// Validate checks the config without touching the network.
func (c Config) Validate() error {
	var errs []error
	switch c.Preset {
	case "", PresetLAN, PresetLocal, PresetFast:
	default:
		errs = append(errs, fmt.Errorf("gossip preset %q: want %q, %q or %q", c.Preset, PresetLAN, PresetLocal, PresetFast))
	}
	switch len(c.EncryptKey) {
	case 0, 16, 24, 32:
	default:
		errs = append(errs, fmt.Errorf("gossip encryption key is %d bytes: want 16, 24 or 32", len(c.EncryptKey)))
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		errs = append(errs, fmt.Errorf("gossip bind port %d out of range", c.BindPort))
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		errs = append(errs, fmt.Errorf("gossip advertise port %d out of range", c.AdvertisePort))
	}
	meta := c.Meta
	if meta.ID == "" {
		meta.ID = "00000000000000000000000000000000" // same length as a real ID
	}
	if err := meta.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return nil
}

// PresetConfig returns memberlist's config for a preset name.
func PresetConfig(preset string) (*memberlist.Config, error) {
	switch preset {
	case "", PresetLAN:
		return memberlist.DefaultLANConfig(), nil
	case PresetLocal:
		return memberlist.DefaultLocalConfig(), nil
	case PresetFast:
		c := memberlist.DefaultLocalConfig()
		c.ProbeInterval = 100 * time.Millisecond
		c.ProbeTimeout = 50 * time.Millisecond
		c.SuspicionMult = 2
		c.GossipInterval = 100 * time.Millisecond
		c.PushPullInterval = 500 * time.Millisecond
		c.TCPTimeout = 500 * time.Millisecond
		c.GossipToTheDeadTime = time.Second
		return c, nil
	default:
		return nil, fmt.Errorf("%w: unknown gossip preset %q", ErrBadConfig, preset)
	}
}

// MemberStatus is a member's liveness as seen locally.
type MemberStatus string

// Member statuses; the strings appear in the HTTP API.
const (
	StatusAlive   MemberStatus = "alive"
	StatusSuspect MemberStatus = "suspect"
	StatusDead    MemberStatus = "dead"
	StatusLeft    MemberStatus = "left"
)

// Member is one node as seen by the local node.
type Member struct {
	NodeMeta
	Status MemberStatus
	// GossipAddr is the memberlist address (host:port).
	GossipAddr string
	// State is the latest broadcast availability and load; State.Seq is 0 when
	// none has arrived yet (Available then equals the totals).
	State NodeState
	// Since is when the member entered its current liveness status locally.
	Since time.Time
}

// EventType says what happened to a member.
type EventType int

// Event types. EventFailed is a crash or partition detected by probing;
// EventLeave is a graceful leave.
const (
	EventJoin EventType = iota + 1
	EventLeave
	EventFailed
	EventUpdate // metadata changed
	EventState  // availability/load changed
)

// String names the event type ("join", "leave", ...).
func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventFailed:
		return "failed"
	case EventUpdate:
		return "update"
	case EventState:
		return "state"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is one membership change.
type Event struct {
	Type   EventType
	Member Member
	At     time.Time
}

// Hooks are optional callbacks. They run on the membership's own event
// goroutine, never on memberlist's, so a slow hook delays later events but
// never gossip.
type Hooks struct {
	OnEvent func(Event)
}

// Membership is one node's view of the cluster, over memberlist.
type Membership struct {
	cfg   Config
	log   *slog.Logger
	hooks Hooks

	mu        sync.Mutex
	meta      NodeMeta
	metaBytes []byte
	local     NodeState
	states    map[string]NodeState // by node ID, includes self
	gone      map[string]Member    // dead/left members by ID
	since     map[string]time.Time // liveness status change times
	subs      map[*subscriber]struct{}
	// nodes holds copies of the live memberlist nodes from events. Delegate
	// callbacks use it instead of ml.Members(): memberlist calls some of them
	// with its node lock held, and Members() would deadlock there.
	nodes    map[string]memberlist.Node
	numNodes atomic.Int64
	// leaving records leave intents by node ID. memberlist's NotifyLeave does
	// not say whether a node left or died (its Node.State is never updated),
	// so a leaving node tells its peers first, as Serf does.
	leaving map[string]time.Time
	// suspects records when the local prober suspected a node; memberlist has
	// no suspect event, so this comes from its log line (see onLogLine).
	suspects   map[string]time.Time
	suspectTTL time.Duration

	ml     *memberlist.Memberlist
	queue  *memberlist.TransmitLimitedQueue
	closed bool
	stop   chan struct{} // closed by Shutdown; ends the reconnect loop

	hookCancel func()
}

// NewMembership validates cfg and prepares a node; Start joins the network.
func NewMembership(cfg Config, hooks Hooks, log *slog.Logger) (*Membership, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DeadRetention == 0 {
		cfg.DeadRetention = 256
	}
	if cfg.ReconnectInterval == 0 {
		cfg.ReconnectInterval = 30 * time.Second
		if cfg.Preset == PresetFast {
			cfg.ReconnectInterval = time.Second
		}
	}
	if cfg.ReconnectTimeout == 0 {
		cfg.ReconnectTimeout = 24 * time.Hour
	}
	meta := cfg.Meta
	if meta.ID == "" {
		meta.ID = NewNodeID()
	}
	meta.Resources = maps.Clone(meta.Resources)
	mb, err := meta.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	m := &Membership{
		cfg:       cfg,
		log:       log.With("node_id", short(meta.ID)),
		hooks:     hooks,
		meta:      meta,
		metaBytes: mb,
		states:    map[string]NodeState{},
		gone:      map[string]Member{},
		since:     map[string]time.Time{},
		subs:      map[*subscriber]struct{}{},
		nodes:     map[string]memberlist.Node{},
		leaving:   map[string]time.Time{},
		suspects:  map[string]time.Time{},
		stop:      make(chan struct{}),
	}
	m.numNodes.Store(1)
	m.local = NodeState{NodeID: meta.ID, Seq: 1, Available: maps.Clone(meta.Resources), Received: time.Now()}
	m.states[meta.ID] = m.local
	return m, nil
}

// short abbreviates a node ID for logs.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// LocalID is this node's ID for this run.
func (m *Membership) LocalID() string { return m.meta.ID }

// LocalMeta is this node's advertised metadata.
func (m *Membership) LocalMeta() NodeMeta {
	m.mu.Lock()
	defer m.mu.Unlock()
	meta := m.meta
	meta.Resources = maps.Clone(meta.Resources)
	return meta
}

// Start creates the memberlist (binding its port). ctx bounds nothing
// long-running today but is kept for symmetry with the other lifecycles.
func (m *Membership) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	mc, err := PresetConfig(m.cfg.Preset)
	if err != nil {
		return err
	}
	mc.Name = m.meta.ID
	mc.BindAddr = m.cfg.BindAddr
	if mc.BindAddr == "" {
		mc.BindAddr = "0.0.0.0"
	}
	mc.BindPort = m.cfg.BindPort
	mc.AdvertiseAddr = m.cfg.AdvertiseAddr
	mc.AdvertisePort = m.cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = m.cfg.BindPort
	}
	if len(m.cfg.EncryptKey) > 0 {
		mc.SecretKey = slices.Clone(m.cfg.EncryptKey)
		mc.GossipVerifyIncoming = true
		mc.GossipVerifyOutgoing = true
	}
	mc.Logger = log.New(&suspectSniffer{m: m, next: memberlistLogger(m.log).Writer()}, "", 0)
	m.suspectTTL = 2 * time.Duration(mc.SuspicionMult) * mc.ProbeInterval
	d := &delegate{m: m}
	mc.Delegate = d
	mc.Events = d
	mc.Alive = d
	m.queue = &memberlist.TransmitLimitedQueue{
		NumNodes:       func() int { return m.numMembers() },
		RetransmitMult: mc.RetransmitMult,
	}
	if m.hooks.OnEvent != nil {
		ch, cancel := m.Subscribe()
		m.hookCancel = cancel
		go func() {
			for ev := range ch {
				m.hooks.OnEvent(ev)
			}
		}()
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		// The hook goroutine would otherwise wait forever on a
		// subscription no Shutdown will close.
		if m.hookCancel != nil {
			m.hookCancel()
			m.hookCancel = nil
		}
		return fmt.Errorf("cluster: start memberlist on %s:%d: %w", mc.BindAddr, mc.BindPort, err)
	}
	m.mu.Lock()
	m.ml = ml
	m.mu.Unlock()
	if m.cfg.ReconnectInterval > 0 {
		go m.reconnectLoop()
	}
	m.log.Info("gossip started", "addr", ml.LocalNode().FullAddress().Addr, "preset", presetName(m.cfg.Preset), "encrypted", len(m.cfg.EncryptKey) > 0)
	return nil
}

func presetName(p string) string {
	if p == "" {
		return PresetLAN
	}
	return p
}

func (m *Membership) list() *memberlist.Memberlist {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ml
}

// numMembers is the live member count (self included) without taking
// memberlist's lock.
func (m *Membership) numMembers() int { return int(m.numNodes.Load()) }

// GossipAddr is the host:port peers use to reach this node's gossip port.
func (m *Membership) GossipAddr() string {
	ml := m.list()
	if ml == nil {
		return ""
	}
	return ml.LocalNode().FullAddress().Addr
}

// Join contacts the seeds once. It returns how many answered and ErrJoin if
// none did.
func (m *Membership) Join(ctx context.Context, seeds []string) (int, error) {
	ml := m.list()
	if ml == nil {
		return 0, ErrNotStarted
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// memberlist.Join has no context and can take TCPTimeout per seed; run
	// it aside so ctx still bounds the call (a late success still joins).
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		n, err := ml.Join(seeds)
		ch <- result{n, err}
	}()
	var n int
	var err error
	select {
	case r := <-ch:
		n, err = r.n, r.err
	case <-ctx.Done():
		return 0, fmt.Errorf("%w: %v: %w", ErrJoin, seeds, ctx.Err())
	}
	if n == 0 {
		if err == nil {
			err = errors.New("no seed answered")
		}
		return 0, fmt.Errorf("%w: %v: %w", ErrJoin, seeds, err)
	}
	return n, nil
}

// JoinRetry calls Join until one seed answers or ctx ends, with exponential
// backoff from 100 ms to 5 s and ±20% jitter so restarted nodes do not
// stampede a seed.
func (m *Membership) JoinRetry(ctx context.Context, seeds []string) (int, error) {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		n, err := m.Join(ctx, seeds)
		if err == nil {
			m.log.Info("joined cluster", "seeds", seeds, "contacted", n, "attempts", attempt)
			return n, nil
		}
		if !errors.Is(err, ErrJoin) {
			return 0, err
		}
		m.log.Warn("join failed; retrying", "seeds", seeds, "attempt", attempt, "backoff", backoff, "err", err)
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("%w: gave up after %d attempts: %w", ErrJoin, attempt, ctx.Err())
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// reconnectLoop periodically tries to join failed members again. memberlist
// stops gossiping to a dead node after GossipToTheDeadTime, so without this
// the two sides of a healed partition would stay apart for good.
func (m *Membership) reconnectLoop() {
	t := time.NewTicker(m.cfg.ReconnectInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.mu.Lock()
		var addrs []string
		live := map[string]bool{}
		for _, n := range m.nodes {
			live[n.FullAddress().Addr] = true
		}
		for _, g := range m.gone {
			// An address now held by a live member is a restarted node:
			// nothing to reconnect.
			if g.Status == StatusDead && !live[g.GossipAddr] && time.Since(g.Since) < m.cfg.ReconnectTimeout && g.GossipAddr != "" {
				addrs = append(addrs, g.GossipAddr)
			}
		}
		ml := m.ml
		m.mu.Unlock()
		if len(addrs) == 0 || ml == nil {
			continue
		}
		sort.Strings(addrs)
		addrs = slices.Compact(addrs)
		// One attempt per tick; memberlist.Join is bounded by TCPTimeout per
		// address. Success shows up as join events.
		if n, err := ml.Join(addrs); n > 0 {
			m.log.Debug("reconnected to failed members", "addrs", addrs, "contacted", n)
		} else if err != nil {
			m.log.Debug("reconnect attempt failed", "addrs", addrs, "err", err)
		}
	}
}

// Leave announces a graceful departure and waits (bounded by ctx, at most 5 s)
// until it has been sent; peers then report EventLeave rather than
// EventFailed.
func (m *Membership) Leave(ctx context.Context) error {
	ml := m.list()
	if ml == nil {
		return ErrNotStarted
	}
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return fmt.Errorf("cluster: leave: %w", context.DeadlineExceeded)
	}
	m.announceLeave(ml, min(timeout/2, time.Second))
	if err := ml.Leave(timeout); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}

// announceLeave sends a leave intent to every live peer over TCP, in
// parallel and bounded by timeout, so that they report EventLeave instead of
// EventFailed when memberlist's dead message follows. Best effort: a peer that
// misses it reports a failure, which is the safe direction.
func (m *Membership) announceLeave(ml *memberlist.Memberlist, timeout time.Duration) {
	msg := appendString([]byte{MetaFormatVersion, msgLeave}, m.meta.ID)
	m.mu.Lock()
	m.leaving[m.meta.ID] = time.Now() // memberlist reports our own leave to us too
	m.mu.Unlock()
	var wg sync.WaitGroup
	done := make(chan struct{})
	for _, n := range ml.Members() {
		if n.Name == m.meta.ID {
			continue
		}
		wg.Add(1)
		go func(n *memberlist.Node) {
			defer wg.Done()
			if err := ml.SendReliable(n, msg); err != nil {
				m.log.Debug("leave intent not delivered", "member_id", short(n.Name), "err", err)
			}
		}(n)
	}
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		m.log.Warn("leave intent: some peers did not answer in time", "timeout", timeout)
	}
}

// Shutdown stops gossip at once and closes subscriber channels. Without a
// prior Leave, peers see a failure.
func (m *Membership) Shutdown() error {
	m.mu.Lock()
	ml := m.ml
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	subs := m.subs
	m.subs = map[*subscriber]struct{}{}
	m.mu.Unlock()
	for s := range subs {
		s.close()
	}
	if ml == nil {
		return nil
	}
	if err := ml.Shutdown(); err != nil {
		return fmt.Errorf("cluster: shutdown: %w", err)
	}
	return nil
}

// Members lists alive and suspect members (including this node) followed by
// remembered dead and left ones, each group sorted by name then ID.
func (m *Membership) Members() []Member {
	ml := m.list()
	var live []*memberlist.Node
	if ml != nil {
		live = ml.Members()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Member, 0, len(live)+len(m.gone))
	seen := map[string]bool{}
	for _, n := range live {
		seen[n.Name] = true
		out = append(out, m.memberLocked(n))
	}
	sortMembers(out)
	var dead []Member
	for id, g := range m.gone {
		if !seen[id] {
			dead = append(dead, g)
		}
	}
	sortMembers(dead)
	return append(out, dead...)
}

// LiveIDs returns the IDs of alive and suspect members, sorted: the set
// Owner hashes over. Suspects stay in because suspicion is a local, often
// refuted opinion; dropping them would move their keys back and forth.
func (m *Membership) LiveIDs() []string {
	var ids []string
	for _, mem := range m.Members() {
		if mem.Status == StatusAlive || mem.Status == StatusSuspect {
			ids = append(ids, mem.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// Owner returns the live node that owns key (see the package doc).
func (m *Membership) Owner(key string) string { return Owner(key, m.LiveIDs()) }

func sortMembers(ms []Member) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Name != ms[j].Name {
			return ms[i].Name < ms[j].Name
		}
		return ms[i].ID < ms[j].ID
	})
}

func (m *Membership) memberLocked(n *memberlist.Node) Member {
	var meta NodeMeta
	if err := meta.UnmarshalBinary(n.Meta); err != nil {
		meta = NodeMeta{ID: n.Name}
	}
	mem := Member{
		NodeMeta:   meta,
		Status:     StatusAlive,
		GossipAddr: n.FullAddress().Addr,
		Since:      m.since[n.Name],
	}
	if t, ok := m.suspects[n.Name]; ok && time.Since(t) < m.suspectTTL {
		mem.Status = StatusSuspect
	}
	if st, ok := m.states[n.Name]; ok {
		mem.State = st.clone()
	} else {
		mem.State = NodeState{NodeID: n.Name, Available: maps.Clone(meta.Resources)}
	}
	return mem
}

// suspectSniffer watches memberlist's log for the local prober's
// "Suspect <name> has failed" line: memberlist has no suspect callback and
// never updates the public Node.State, so this is the only signal. A suspect
// mark expires after suspectTTL or when the node shows life (a newer state).
type suspectSniffer struct {
	m    *Membership
	next io.Writer
}

func (s *suspectSniffer) Write(p []byte) (int, error) {
	const pre = "memberlist: Suspect "
	if i := bytes.Index(p, []byte(pre)); i >= 0 {
		rest := p[i+len(pre):]
		if j := bytes.IndexByte(rest, ' '); j > 0 {
			s.m.mu.Lock()
			s.m.suspects[string(rest[:j])] = time.Now()
			s.m.mu.Unlock()
		}
	}
	return s.next.Write(p)
}

// SetLocalState records this node's availability and load and, if either
// changed, broadcasts it (replacing any queued older broadcast).
func (m *Membership) SetLocalState(available map[string]float64, load Load) error {
	m.mu.Lock()
	if maps.Equal(available, m.local.Available) && load == m.local.Load {
		m.mu.Unlock()
		return nil
	}
	next := NodeState{NodeID: m.meta.ID, Seq: m.local.Seq + 1, Available: maps.Clone(available), Load: load, Received: time.Now()}
	msg, err := next.marshal()
	if err != nil {
		m.mu.Unlock()
		return err
	}
	m.local = next
	m.states[next.NodeID] = next
	q := m.queue
	m.mu.Unlock()
	if q != nil {
		q.QueueBroadcast(&stateBroadcast{name: "state/" + next.NodeID, msg: msg})
	}
	return nil
}

// SetLocalResources changes this node's advertised totals and pushes the new
// metadata to peers, bounded by ctx.
func (m *Membership) SetLocalResources(ctx context.Context, total map[string]float64) error {
	m.mu.Lock()
	meta := m.meta
	meta.Resources = maps.Clone(total)
	b, err := meta.MarshalBinary()
	if err != nil {
		m.mu.Unlock()
		return err
	}
	m.meta, m.metaBytes = meta, b
	ml := m.ml
	m.mu.Unlock()
	if ml == nil {
		return nil
	}
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("cluster: update node meta: %w", err)
	}
	return nil
}

// applyState keeps s if it is newer than what is known and emits EventState.
func (m *Membership) applyState(s NodeState) {
	if s.NodeID == m.meta.ID {
		return // we are the authority on ourselves
	}
	m.mu.Lock()
	old, ok := m.states[s.NodeID]
	if ok && old.Seq >= s.Seq {
		m.mu.Unlock()
		return
	}
	if _, dead := m.gone[s.NodeID]; dead {
		m.mu.Unlock()
		return
	}
	s.Received = time.Now()
	m.states[s.NodeID] = s
	delete(m.suspects, s.NodeID)
	var mem *Member
	if n, ok := m.nodes[s.NodeID]; ok {
		mm := m.memberLocked(&n)
		mem = &mm
	}
	m.mu.Unlock()
	if mem != nil {
		m.publish(Event{Type: EventState, Member: *mem, At: s.Received})
	}
}

// Subscribe returns a channel of events and a cancel func. Delivery never
// blocks memberlist: each subscriber has its own unbounded queue, so a slow
// reader only grows its own backlog. The channel closes on cancel or Shutdown.
func (m *Membership) Subscribe() (<-chan Event, func()) {
	s := newSubscriber()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		s.close()
		return s.out, func() {}
	}
	m.subs[s] = struct{}{}
	m.mu.Unlock()
	return s.out, func() {
		m.mu.Lock()
		delete(m.subs, s)
		m.mu.Unlock()
		s.close()
	}
}

func (m *Membership) publish(ev Event) {
	m.mu.Lock()
	subs := make([]*subscriber, 0, len(m.subs))
	for s := range m.subs {
		subs = append(subs, s)
	}
	m.mu.Unlock()
	for _, s := range subs {
		s.push(ev)
	}
}

// subscriber is an unbounded FIFO between publish (never blocks) and a
// forwarding goroutine that feeds out.
type subscriber struct {
	mu     sync.Mutex
	q      []Event
	wake   chan struct{}
	done   chan struct{}
	out    chan Event
	closed bool
}

func newSubscriber() *subscriber {
	s := &subscriber{wake: make(chan struct{}, 1), done: make(chan struct{}), out: make(chan Event)}
	go s.run()
	return s
}

func (s *subscriber) push(ev Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.q = append(s.q, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
}

func (s *subscriber) run() {
	defer close(s.out)
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.q) == 0 {
				s.mu.Unlock()
				break
			}
			ev := s.q[0]
			s.q[0] = Event{}
			s.q = s.q[1:]
			s.mu.Unlock()
			select {
			case s.out <- ev:
			case <-s.done:
				return
			}
		}
	}
}

// delegate implements memberlist's Delegate, EventDelegate and AliveDelegate.
// Every method is quick and non-blocking: memberlist calls them from its
// packet and timer loops.
type delegate struct{ m *Membership }

func (d *delegate) NodeMeta(limit int) []byte {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	if len(d.m.metaBytes) > limit {
		// Validate keeps this from happening; never hand memberlist an
		// oversize slice (it would panic).
		d.m.log.Error("node metadata exceeds memberlist limit; advertising none", "size", len(d.m.metaBytes), "limit", limit)
		return nil
	}
	return slices.Clone(d.m.metaBytes)
}

func (d *delegate) NotifyMsg(b []byte) {
	if len(b) < 2 || b[0] != MetaFormatVersion {
		return
	}
	switch b[1] {
	case msgState:
		s, err := unmarshalState(b) // copies what it keeps; b is reused
		if err != nil {
			d.m.log.Debug("dropping bad state message", "err", err)
			return
		}
		d.m.applyState(s)
	case msgLeave:
		dec := decoder{buf: b[2:]}
		id := dec.string()
		if dec.err == nil {
			d.m.mu.Lock()
			d.m.leaving[id] = time.Now()
			d.m.mu.Unlock()
		}
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	d.m.mu.Lock()
	q := d.m.queue
	d.m.mu.Unlock()
	if q == nil {
		return nil
	}
	return q.GetBroadcasts(overhead, limit)
}

// LocalState sends every state we know during push/pull, so a joining node
// learns everyone's availability at once instead of waiting for changes.
func (d *delegate) LocalState(bool) []byte {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	enc := make([][]byte, 0, len(d.m.states))
	for _, s := range d.m.states {
		if b, err := s.marshal(); err == nil {
			enc = append(enc, b)
		}
	}
	return marshalStateList(enc)
}

func (d *delegate) MergeRemoteState(buf []byte, _ bool) {
	states, err := unmarshalStateList(buf)
	if err != nil {
		d.m.log.Debug("dropping bad push/pull state", "err", err)
		return
	}
	for _, s := range states {
		d.m.applyState(s)
	}
}

func (d *delegate) NotifyAlive(peer *memberlist.Node) error {
	var meta NodeMeta
	if err := meta.UnmarshalBinary(peer.Meta); err != nil {
		return fmt.Errorf("%w %s at %s: %w", ErrIncompatiblePeer, peer.Name, peer.Address(), err)
	}
	return nil
}

func (d *delegate) NotifyJoin(n *memberlist.Node) {
	m := d.m
	m.mu.Lock()
	now := time.Now()
	m.since[n.Name] = now
	delete(m.gone, n.Name)
	m.nodes[n.Name] = *n
	m.numNodes.Store(int64(len(m.nodes)))
	mem := m.memberLocked(n)
	m.mu.Unlock()
	m.log.Info("member joined", "member", mem.Name, "member_id", short(mem.ID), "addr", mem.GossipAddr)
	m.publish(Event{Type: EventJoin, Member: mem, At: now})
}

func (d *delegate) NotifyLeave(n *memberlist.Node) {
	m := d.m
	m.mu.Lock()
	now := time.Now()
	m.since[n.Name] = now
	mem := m.memberLocked(n)
	typ := EventFailed
	if t, ok := m.leaving[n.Name]; ok && now.Sub(t) < time.Minute {
		typ = EventLeave
		mem.Status = StatusLeft
	} else {
		mem.Status = StatusDead
	}
	m.gone[n.Name] = mem
	delete(m.states, n.Name)
	delete(m.nodes, n.Name)
	delete(m.leaving, n.Name)
	delete(m.suspects, n.Name)
	m.numNodes.Store(int64(max(1, len(m.nodes))))
	m.pruneGoneLocked()
	m.mu.Unlock()
	m.log.Info("member "+typ.String(), "member", mem.Name, "member_id", short(mem.ID), "addr", mem.GossipAddr)
	m.publish(Event{Type: typ, Member: mem, At: now})
}

func (m *Membership) pruneGoneLocked() {
	for len(m.gone) > m.cfg.DeadRetention {
		var oldest string
		var t time.Time
		for id, g := range m.gone {
			if oldest == "" || g.Since.Before(t) {
				oldest, t = id, g.Since
			}
		}
		delete(m.gone, oldest)
		delete(m.since, oldest)
	}
}

func (d *delegate) NotifyUpdate(n *memberlist.Node) {
	m := d.m
	m.mu.Lock()
	m.nodes[n.Name] = *n
	mem := m.memberLocked(n)
	m.mu.Unlock()
	m.publish(Event{Type: EventUpdate, Member: mem, At: time.Now()})
}
