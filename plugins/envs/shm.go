package envs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	envv1 "github.com/goray/goray/plugins/envs/proto/goray/env/v1"
)

// The shared-memory step transport ("shm/1").
//
// Why: a gRPC round trip over the plugin's unix socket costs ~50 µs
// whatever the batch (HTTP/2 framing, protobuf, goroutine hand-offs and
// netpoller wake-ups on both sides), which held the plugin path at 24-40%
// of the in-process rate at N=256. Here the batch arrays live in a memfd
// mapped by both processes, a step is a handshake of two seq words in that
// memory, and a dedicated unix stream socket (blocking syscalls, no
// netpoller) wakes a side that went to sleep, carries what does not fit the
// fixed layout (infos, errors) and tells each side when the other is gone.
//
// Negotiation (MakeVectorRequest.fast_transport): the host listens on a
// random abstract unix socket and sends its name and a random token. A
// plugin that speaks shm/1 makes the vector, creates and maps a memfd,
// connects, and sends the hello frame (token, layout) with the memfd as
// SCM_RIGHTS before it answers MakeVector with transport "shm/1". The host
// accepts, checks the token, the peer's uid and the layout, and maps the
// memfd. A plugin that ignores the field answers transport "", and the host
// steps over StepStream as before; any failure to attach falls back the
// same way.
//
// Memory layout (offsets in bytes, values in the host's byte order):
//
//	control     [0, 128): the host's words on the first cache line (request
//	            seq u64 at 0, number of actions u64 at 8, plugin-sleeping
//	            u32 at 16, written by the plugin), the plugin's on the second
//	            (reply seq u64 at 64, status u32 at 72, payload length u64
//	            at 80, host-sleeping u32 at 88, written by the host)
//	actions     [128, +8·actCap)
//	obs         [+0, 8·obsLen)
//	rewards     [+0, 8·n)
//	terminated  [+0, n)  one byte per sub-env, 0 or 1
//	truncated   [+0, n)
//
// A step is a seq handshake in the control block: the host writes the
// actions and publishes the request seq; the plugin steps, writes the
// results and publishes the reply seq with the status. Each side polls for
// the other's seq for a short while (shmSpin) and then goes to sleep in a
// blocking read(2) of the socket, after raising its sleeping flag; the
// other side writes a frame to the socket (a doorbell) only when it sees
// that flag. Setting one's flag and then re-reading the other's seq, against
// publishing one's seq and then reading the other's flag, with sequentially
// consistent atomics, means a wake-up is never lost (the worst case is a
// spare doorbell, which the reader skips by its seq). So when both sides
// are running a step costs no system call at all, and a sleeping peer costs
// one write; a sleeping thread costs a scheduler wake-up (an IPI, often a
// VM exit) per step, which was more than the step of 256 CartPoles.
//
// Frames (little-endian): a request doorbell is op u32 (1 = step),
// reserved u32, seq u64, number of actions u64; a reply is status u32
// (0 = ok, 1 = env error), reserved u32, seq u64, payload length u64,
// followed by the payload: an encoded goray.env.v1.Batch that carries only
// infos (status 0) or error (status 1). A reply with a payload is always
// sent as a frame (and consumed by the host), since the payload is not in
// the shared memory. The socket closing is the plugin (or host) going
// away: a blocked read returns at once, which is how a crash, a hang (the
// host's ctx shuts the socket down) or a host exit end a wait.
const (
	// TransportShm is the shared-memory step transport, version 1.
	TransportShm = "shm/1"
	// TransportStream and TransportUnary name the gRPC step paths.
	TransportStream = "grpc-stream"
	TransportUnary  = "grpc-unary"

	shmVersion   = 1
	shmTokenLen  = 16
	shmHelloLen  = 64
	shmFrameLen  = 24
	shmOpStep    = 1
	shmStatusOK  = 0
	shmStatusErr = 1
)

// shmLayout is where the batch arrays live in the shared memory.
type shmLayout struct {
	n, actCap, obsLen int
}

// shmSpin bounds how long a side polls the control block before it blocks.
// It covers the plugin's turn-around between steps and a step of a few
// hundred sub-envs; longer waits (a slow env, the host's policy) sleep.
const shmSpin = 50 * time.Microsecond

const (
	shmReqSeqOff      = 0
	shmReqNActOff     = 8
	shmPluginSleepOff = 16
	shmRespSeqOff     = 64
	shmRespStatusOff  = 72
	shmRespLenOff     = 80
	shmHostSleepOff   = 88
	shmCtlLen         = 128
)

func (l shmLayout) actOff() int   { return shmCtlLen }
func (l shmLayout) obsOff() int   { return l.actOff() + 8*l.actCap }
func (l shmLayout) rewOff() int   { return l.obsOff() + 8*l.obsLen }
func (l shmLayout) termOff() int  { return l.rewOff() + 8*l.n }
func (l shmLayout) truncOff() int { return l.termOff() + l.n }
func (l shmLayout) size() int {
	s := l.truncOff() + l.n
	page := unix.Getpagesize()
	return (s + page - 1) / page * page
}

// shmViews are typed slices over a mapping.
type shmViews struct {
	reqSeq, reqNAct, respSeq, respLen  *uint64
	pluginSleep, respStatus, hostSleep *uint32
	act, obs, rew                      []float64
	term, trunc                        []byte
}

func (l shmLayout) views(mem []byte) shmViews {
	f64 := func(off, n int) []float64 {
		if n == 0 {
			return nil
		}
		return unsafe.Slice((*float64)(unsafe.Pointer(&mem[off])), n)
	}
	return shmViews{
		reqSeq:      (*uint64)(unsafe.Pointer(&mem[shmReqSeqOff])),
		reqNAct:     (*uint64)(unsafe.Pointer(&mem[shmReqNActOff])),
		pluginSleep: (*uint32)(unsafe.Pointer(&mem[shmPluginSleepOff])),
		respSeq:     (*uint64)(unsafe.Pointer(&mem[shmRespSeqOff])),
		respStatus:  (*uint32)(unsafe.Pointer(&mem[shmRespStatusOff])),
		respLen:     (*uint64)(unsafe.Pointer(&mem[shmRespLenOff])),
		hostSleep:   (*uint32)(unsafe.Pointer(&mem[shmHostSleepOff])),
		act:         f64(l.actOff(), l.actCap), obs: f64(l.obsOff(), l.obsLen), rew: f64(l.rewOff(), l.n),
		term: mem[l.termOff() : l.termOff()+l.n], trunc: mem[l.truncOff() : l.truncOff()+l.n],
	}
}

// spinUntil polls *seq until it reaches want (true) or shmSpin has passed
// (false). It yields the CPU between polls: on a busy machine the peer may
// be queued on this very CPU, and a tight loop would keep it from running.
func spinUntil(seq *uint64, want uint64) bool {
	if atomic.LoadUint64(seq) >= want {
		return true
	}
	start := time.Now()
	for atomic.LoadUint64(seq) < want {
		if time.Since(start) > shmSpin {
			return false
		}
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
	return true
}

// errShmClosed: the other end of the fast channel went away.
var errShmClosed = errors.New("shm transport: connection closed")

// shmSock is one end of the fast channel's socket: a blocking fd that
// interrupt can wake from any goroutine (shutdown(2) ends a blocked read)
// without racing close, which would let the fd number be reused under it.
type shmSock struct {
	mu     sync.Mutex
	fd     int
	closed bool
}

func (s *shmSock) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
	}
}

func (s *shmSock) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		_ = unix.Close(s.fd)
	}
}

func (s *shmSock) readFull(p []byte) error {
	for len(p) > 0 {
		n, err := unix.Read(s.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err == unix.ECONNRESET {
				return errShmClosed
			}
			return fmt.Errorf("shm transport: read: %w", err)
		}
		if n == 0 {
			return errShmClosed
		}
		p = p[n:]
	}
	return nil
}

func (s *shmSock) writeFull(p []byte) error {
	for len(p) > 0 {
		n, err := unix.SendmsgN(s.fd, p, nil, nil, unix.MSG_NOSIGNAL)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err == unix.EPIPE || err == unix.ECONNRESET {
				return errShmClosed
			}
			return fmt.Errorf("shm transport: write: %w", err)
		}
		p = p[n:]
	}
	return nil
}

// ---- host side ----

// shmOffer is the host's listening socket for one MakeVector.
type shmOffer struct {
	fd    int
	name  string
	token []byte
}

// newShmOffer listens on a fresh abstract unix socket (nothing to clean up
// on the filesystem, even after a SIGKILL). The token keeps out any other
// process that finds the name.
func newShmOffer() (*shmOffer, error) {
	var raw [16]byte
	token := make([]byte, shmTokenLen)
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	name := "@goray-env-" + hex.EncodeToString(raw[:])
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("shm transport: socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shm transport: bind: %w", err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shm transport: listen: %w", err)
	}
	return &shmOffer{fd: fd, name: name, token: token}, nil
}

func (o *shmOffer) proto() *envv1.FastTransport {
	return &envv1.FastTransport{Transports: []string{TransportShm}, Socket: o.name, Token: o.token}
}

func (o *shmOffer) close() { unix.Close(o.fd) }

// accept takes the plugin's connection, which it made before answering
// MakeVector (so it is already queued), and maps the memfd it sent.
// Connections with another uid or a wrong token are dropped.
func (o *shmOffer) accept(ctx context.Context, deadline time.Time, n, obsLen, actLen int) (*shmClient, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, errors.New("shm transport: plugin did not connect")
		}
		fds := []unix.PollFd{{Fd: int32(o.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(min(wait, 100*time.Millisecond)/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return nil, fmt.Errorf("shm transport: poll: %w", err)
		}
		cfd, _, err := unix.Accept4(o.fd, unix.SOCK_CLOEXEC)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("shm transport: accept: %w", err)
		}
		c, err := attachHost(cfd, o.token, n, obsLen, actLen)
		if err != nil {
			unix.Close(cfd)
			if errors.Is(err, errShmForeign) {
				continue
			}
			return nil, err
		}
		return c, nil
	}
}

var errShmForeign = errors.New("shm transport: foreign connection")

// shmClient is the host end of an attached fast channel.
type shmClient struct {
	sock shmSock
	mem  []byte
	lay  shmLayout
	v    shmViews
	seq  uint64
	hdr  [shmFrameLen]byte
	buf  []byte      // reply payload
	msg  envv1.Batch // decoded payload
	uopt proto.UnmarshalOptions
}

func attachHost(fd int, token []byte, n, obsLen, actLen int) (*shmClient, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || int(cred.Uid) != unix.Getuid() {
		return nil, errShmForeign
	}
	// The hello is already there; the timeout only guards against a peer
	// that connected and went quiet.
	tv := unix.NsecToTimeval(int64(2 * time.Second))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	hello := make([]byte, shmHelloLen)
	oob := make([]byte, unix.CmsgSpace(4))
	got, oobn, _, _, err := unix.Recvmsg(fd, hello, oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_WAITALL)
	if err != nil {
		return nil, fmt.Errorf("shm transport: hello: %w", err)
	}
	var memfd = -1
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if fds, err := unix.ParseUnixRights(&m); err == nil {
				for _, f := range fds {
					if memfd < 0 {
						memfd = f
					} else {
						unix.Close(f)
					}
				}
			}
		}
	}
	if memfd >= 0 {
		defer unix.Close(memfd) // the mapping outlives the fd
	}
	if got != shmHelloLen || string(hello[:shmTokenLen]) != string(token) {
		return nil, errShmForeign
	}
	le := binary.LittleEndian
	if v := le.Uint32(hello[16:]); v != shmVersion {
		return nil, fmt.Errorf("shm transport: plugin speaks frame version %d, want %d", v, shmVersion)
	}
	lay := shmLayout{n: int(le.Uint64(hello[24:])), actCap: int(le.Uint64(hello[32:])), obsLen: int(le.Uint64(hello[40:]))}
	size := int(le.Uint64(hello[48:]))
	if lay.n != n || lay.obsLen != obsLen || lay.actCap != actLen || size != lay.size() {
		return nil, fmt.Errorf("shm transport: plugin layout n=%d obs=%d act=%d size=%d, want n=%d obs=%d act=%d size=%d",
			lay.n, lay.obsLen, lay.actCap, size, n, obsLen, actLen, shmLayout{n, actLen, obsLen}.size())
	}
	if memfd < 0 {
		return nil, errors.New("shm transport: hello without a memfd")
	}
	var st unix.Stat_t
	if err := unix.Fstat(memfd, &st); err != nil || st.Size < int64(size) {
		return nil, fmt.Errorf("shm transport: memfd of %d bytes, want %d (%v)", st.Size, size, err)
	}
	mem, err := unix.Mmap(memfd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shm transport: mmap: %w", err)
	}
	zero := unix.Timeval{}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &zero)
	c := &shmClient{sock: shmSock{fd: fd}, mem: mem, lay: lay, v: lay.views(mem)}
	return c, nil
}

// step publishes one step request for the actions already in
// c.v.act[:nAct] and waits for the reply. It returns the reply status; the
// payload (if any) is decoded into c.msg. interrupt() from another
// goroutine ends a sleeping wait with errShmClosed.
func (c *shmClient) step(nAct int) (uint32, error) {
	c.seq++
	le := binary.LittleEndian
	atomic.StoreUint64(c.v.reqNAct, uint64(nAct))
	atomic.StoreUint64(c.v.reqSeq, c.seq)
	if atomic.LoadUint32(c.v.pluginSleep) != 0 {
		le.PutUint32(c.hdr[0:], shmOpStep)
		le.PutUint32(c.hdr[4:], 0)
		le.PutUint64(c.hdr[8:], c.seq)
		le.PutUint64(c.hdr[16:], uint64(nAct))
		if err := c.sock.writeFull(c.hdr[:]); err != nil {
			return 0, err
		}
	}
	c.msg.Reset()
	if !spinUntil(c.v.respSeq, c.seq) {
		atomic.StoreUint32(c.v.hostSleep, 1)
		for atomic.LoadUint64(c.v.respSeq) < c.seq {
			done, status, err := c.readReply()
			if err != nil {
				return 0, err
			}
			if done {
				atomic.StoreUint32(c.v.hostSleep, 0)
				return status, nil
			}
		}
		atomic.StoreUint32(c.v.hostSleep, 0)
	}
	if atomic.LoadUint64(c.v.respSeq) != c.seq {
		return 0, fmt.Errorf("shm transport: reply to step %d, want %d", atomic.LoadUint64(c.v.respSeq), c.seq)
	}
	status := atomic.LoadUint32(c.v.respStatus)
	if atomic.LoadUint64(c.v.respLen) == 0 {
		return status, nil
	}
	// The payload comes in this step's reply frame.
	for {
		done, status, err := c.readReply()
		if err != nil || done {
			return status, err
		}
	}
}

// readReply reads one reply frame. done reports that it answers the current
// step (its payload then is in c.msg); frames of earlier steps are spare
// doorbells and are skipped.
func (c *shmClient) readReply() (done bool, status uint32, err error) {
	le := binary.LittleEndian
	if err := c.sock.readFull(c.hdr[:]); err != nil {
		return false, 0, err
	}
	status, seq, plen := le.Uint32(c.hdr[0:]), le.Uint64(c.hdr[8:]), le.Uint64(c.hdr[16:])
	if seq > c.seq {
		return false, 0, fmt.Errorf("shm transport: reply to step %d, want %d", seq, c.seq)
	}
	if plen > maxMsg {
		return false, 0, fmt.Errorf("shm transport: reply payload of %d bytes", plen)
	}
	if plen > 0 {
		if cap(c.buf) < int(plen) {
			c.buf = make([]byte, plen)
		}
		c.buf = c.buf[:plen]
		if err := c.sock.readFull(c.buf); err != nil {
			return false, 0, err
		}
	}
	if seq < c.seq {
		return false, 0, nil
	}
	if plen > 0 {
		if err := c.uopt.Unmarshal(c.buf, &c.msg); err != nil {
			return false, 0, fmt.Errorf("shm transport: reply payload: %w", err)
		}
	}
	return true, status, nil
}

func (c *shmClient) close() {
	c.sock.close()
	if c.mem != nil {
		_ = unix.Munmap(c.mem)
		c.mem = nil
	}
}

// ---- plugin side ----

// shmServer is the plugin end of a fast channel: a goroutine that steps one
// vector per request frame until the host closes the socket.
type shmServer struct {
	sock shmSock
	mem  []byte
	lay  shmLayout
	v    shmViews
	sv   *serverVector
	done chan struct{}
}

// attachShmServer makes the memfd for vector sv, connects to the host's
// socket and sends the hello. On success the serving goroutine runs until
// the host closes the connection or stop is called.
func attachShmServer(ft *envv1.FastTransport, sv *serverVector, n, obsLen, actLen int) (_ *shmServer, err error) {
	lay := shmLayout{n: n, actCap: actLen, obsLen: obsLen}
	size := lay.size()
	memfd, err := unix.MemfdCreate("goray-env-batch", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	defer unix.Close(memfd)
	if err := unix.Ftruncate(memfd, int64(size)); err != nil {
		return nil, fmt.Errorf("ftruncate memfd: %w", err)
	}
	mem, err := unix.Mmap(memfd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap memfd: %w", err)
	}
	defer func() {
		if err != nil {
			_ = unix.Munmap(mem)
		}
	}()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: ft.GetSocket()}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect %s: %w", ft.GetSocket(), err)
	}
	hello := make([]byte, shmHelloLen)
	copy(hello, ft.GetToken())
	le := binary.LittleEndian
	le.PutUint32(hello[16:], shmVersion)
	le.PutUint64(hello[24:], uint64(n))
	le.PutUint64(hello[32:], uint64(actLen))
	le.PutUint64(hello[40:], uint64(obsLen))
	le.PutUint64(hello[48:], uint64(size))
	if err := unix.Sendmsg(fd, hello, unix.UnixRights(memfd), nil, unix.MSG_NOSIGNAL); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("send hello: %w", err)
	}
	s := &shmServer{sock: shmSock{fd: fd}, mem: mem, lay: lay, v: lay.views(mem), sv: sv, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// stop ends the serving goroutine and waits for it (it unmaps the memory).
func (s *shmServer) stop() {
	s.sock.interrupt()
	<-s.done
}

func (s *shmServer) serve() {
	defer close(s.done)
	defer func() {
		s.sock.close()
		_ = unix.Munmap(s.mem)
	}()
	var hdr [shmFrameLen]byte
	var out envv1.Batch
	var frame []byte
	le := binary.LittleEndian
	var last uint64
	for {
		if !spinUntil(s.v.reqSeq, last+1) {
			atomic.StoreUint32(s.v.pluginSleep, 1)
			for atomic.LoadUint64(s.v.reqSeq) <= last {
				// A doorbell, or a spare one from an earlier step.
				if err := s.sock.readFull(hdr[:]); err != nil {
					return
				}
				if le.Uint32(hdr[0:]) != shmOpStep {
					return // not our protocol: drop the channel, the host sees it closed
				}
			}
			atomic.StoreUint32(s.v.pluginSleep, 0)
		}
		seq, nAct := atomic.LoadUint64(s.v.reqSeq), atomic.LoadUint64(s.v.reqNAct)
		if seq != last+1 || nAct > uint64(s.lay.actCap) {
			return
		}
		last = seq
		status := uint32(shmStatusOK)
		out.Reset()
		s.sv.mu.Lock()
		if s.sv.closed {
			s.sv.mu.Unlock()
			return
		}
		b, err := s.sv.vec.Step(context.Background(), s.v.act[:nAct])
		if err == nil {
			err = s.put(b, &out)
		}
		if err != nil {
			status = shmStatusErr
			out = envv1.Batch{Error: &envv1.Error{Kind: errorKind(err), Message: innerMessage(err)}}
		}
		frame = append(frame[:0], make([]byte, shmFrameLen)...)
		if status != shmStatusOK || len(out.Infos) > 0 {
			frame, err = proto.MarshalOptions{}.MarshalAppend(frame, &out)
			if err != nil {
				status = shmStatusErr
				frame, _ = proto.MarshalOptions{}.MarshalAppend(frame[:shmFrameLen], &envv1.Batch{Error: &envv1.Error{Message: err.Error()}})
			}
		}
		s.sv.mu.Unlock()
		plen := len(frame) - shmFrameLen
		le.PutUint32(frame[0:], status)
		le.PutUint32(frame[4:], 0)
		le.PutUint64(frame[8:], seq)
		le.PutUint64(frame[16:], uint64(plen))
		atomic.StoreUint32(s.v.respStatus, status)
		atomic.StoreUint64(s.v.respLen, uint64(plen))
		if plen > 0 {
			// The host reads this frame whether it sleeps or not.
			if err := s.sock.writeFull(frame); err != nil {
				return
			}
		}
		atomic.StoreUint64(s.v.respSeq, seq)
		if plen == 0 && atomic.LoadUint32(s.v.hostSleep) != 0 {
			if err := s.sock.writeFull(frame); err != nil {
				return
			}
		}
	}
}

// put copies a step's arrays into the shared memory and its infos into
// out.
func (s *shmServer) put(b *Batch, out *envv1.Batch) error {
	if len(b.Obs) != len(s.v.obs) || len(b.Rewards) != s.lay.n || len(b.Terminated) != s.lay.n || len(b.Truncated) != s.lay.n {
		return fmt.Errorf("vector returned %d obs, %d rewards for a %d×%d layout", len(b.Obs), len(b.Rewards), s.lay.n, s.lay.obsLen)
	}
	copy(s.v.obs, b.Obs)
	copy(s.v.rew, b.Rewards)
	for i, t := range b.Terminated {
		s.v.term[i] = boolByte(t)
	}
	for i, t := range b.Truncated {
		s.v.trunc[i] = boolByte(t)
	}
	if b.Infos == nil {
		return nil
	}
	if err := batchToProto(&Batch{Infos: b.Infos}, out); err != nil {
		return err
	}
	return nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
