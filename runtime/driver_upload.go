package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/goray/goray/runtime/pkgstore"
)

// Uploads from drivers on other machines.
//
// A driver that connects over TCP may run on a machine that shares no disk
// with the node, so two things it names in its hello may be missing here:
// its program (by sha256, needed to start its workers) and its working dir
// (a local path; the driver packs it into a content-addressed package
// first, exactly like `goray submit` does for a job, and names the
// package's sha256). The hello reply asks for what the node lacks
// (uploadAsk), and the driver sends each in mBinary chunks (n=0 the
// program, n=1 the package) before its Dial returns, so its first task
// finds both.
//
// Memory stays bounded by one chunk on both sides: the driver reads its
// file chunk by chunk and, when the node acknowledges chunks (askAcks),
// sends the next only after the node took the previous one; the node
// writes every chunk straight into a temporary file in the binary cache or
// the package store while hashing it (pkgstore.Incoming), and renames it
// into place only once the whole content hashes to the name it came under.
// A refused upload (wrong hash, too large, unasked) is answered with an
// error naming the problem, ends the upload and leaves nothing behind; the
// driver's Dial then fails with that error.

// uploadAsk is the hello reply's n2: what the driver must send before its
// hello completes, and how. Its flag repeats askProgram, which is all that
// drivers from before working-dir uploads read.
type uploadAsk int64

const (
	// askProgram: send the program (mBinary, n=0).
	askProgram uploadAsk = 1 << iota
	// askPackage: send the working dir's package (mBinary, n=1).
	askPackage
	// askAcks: the node acknowledges each chunk sent with a request ID,
	// so the driver can keep one chunk in flight.
	askAcks
)

// Kinds of mBinary content (msg.n).
const (
	uploadProgram = 0
	uploadPackage = 1
)

// maxUploadBytes bounds an uploaded program.
const maxUploadBytes = 2 << 30

// uploadChunk is the size of one mBinary frame: big enough that a program
// costs few frames, small enough not to hold up the connection's other
// messages for long.
const uploadChunk = 4 << 20

// binUpload is what a TCP driver still has to send (session.upload), and
// the pool it gets once it did.
type binUpload struct {
	sum string // the program to receive; "" when not asked or received
	pkg string // the working dir's package to receive; likewise
	bin string // the pool's program so far (poolKey's bin)
	wd  string // the pool's working dir so far
	in  *pkgstore.Incoming
	err string // the first refusal; reported with the next reply
}

// ask is the hello reply's request for u.
func (u *binUpload) ask() uploadAsk {
	a := askAcks
	if u.sum != "" {
		a |= askProgram
	}
	if u.pkg != "" {
		a |= askPackage
	}
	return a
}

// abort drops a partly received file (the session ended mid-upload).
func (u *binUpload) abort() {
	if u.in != nil {
		u.in.Abort()
		u.in = nil
	}
}

// onBinaryChunk receives one chunk of a driver's program or working-dir
// package (m.n). A chunk with a request ID is answered once written (or
// refused); the last chunk (flag) also verifies and stores the content,
// moves the session to its pool when nothing else is owed, and replies,
// with the first error if any chunk was refused. A refusal ends the
// upload. It runs on the session's reader goroutine, without n.mu,
// because it does I/O.
func (n *Node) onBinaryChunk(s *session, m *msg) {
	what := "program"
	if m.n == uploadPackage {
		what = "working dir"
	}
	n.mu.Lock()
	u := s.upload
	n.mu.Unlock()
	if u == nil {
		if m.req != 0 {
			s.send(&msg{t: mReply, req: m.req, err: &ErrorInfo{Kind: ErrKindSystem, Message: "runtime: " + what + " upload: the node did not ask for one"}})
		}
		return
	}
	if u.err == "" {
		if err := n.takeChunk(u, m); err != nil {
			u.err = fmt.Sprintf("runtime: %s upload: %v", what, err)
		}
	}
	if u.err == "" && m.flag {
		size, err := n.commitUpload(u)
		if err != nil {
			u.err = fmt.Sprintf("runtime: %s upload: %v", what, err)
		} else {
			n.log.Info("a driver uploaded its "+what, "sha256", fmt.Sprintf("%.12s", m.str), "bytes", size)
		}
	}
	if u.err != "" {
		u.abort() // nothing of a refused upload stays on disk
		if m.req == 0 && !m.flag {
			return // reported with the last chunk, which has a request ID
		}
		n.mu.Lock()
		s.upload = nil
		n.mu.Unlock()
		s.send(&msg{t: mReply, req: m.req, err: &ErrorInfo{Kind: ErrKindSystem, Message: u.err}})
		return
	}
	if m.flag {
		key := n.WorkerPool(u.bin, u.wd) // hashes the default binary once: not under n.mu
		n.mu.Lock()
		s.bin = key
		if u.sum == "" && u.pkg == "" {
			s.upload = nil
		}
		n.mu.Unlock()
	}
	if m.req != 0 {
		s.send(&msg{t: mReply, req: m.req})
	}
}

// takeChunk writes m's data into the upload's file, opening it at the
// first chunk of the content m names.
func (n *Node) takeChunk(u *binUpload, m *msg) error {
	want := u.sum
	if m.n == uploadPackage {
		want = u.pkg
	}
	switch {
	case m.n != uploadProgram && m.n != uploadPackage:
		return fmt.Errorf("unknown content kind %d", m.n)
	case want == "":
		return errors.New("the node did not ask for one")
	case m.str != want:
		return fmt.Errorf("chunk of %.12s, want %.12s", m.str, want)
	case u.in != nil && u.in.Sum() != want:
		return fmt.Errorf("chunk of %.12s before the last chunk of %.12s", want, u.in.Sum())
	}
	if u.in == nil {
		var err error
		if m.n == uploadPackage {
			u.in, err = n.packages().NewUpload(want)
		} else {
			u.in, err = pkgstore.NewIncoming(n.binDir, want, maxUploadBytes)
		}
		if err != nil {
			return err
		}
	}
	if _, err := u.in.Write(m.data); err != nil {
		if errors.Is(err, pkgstore.ErrTooLarge) {
			limit := int64(maxUploadBytes)
			if m.n == uploadPackage {
				limit = pkgstore.MaxBytes
			}
			return fmt.Errorf("larger than %d MiB", limit>>20)
		}
		return err
	}
	return nil
}

// commitUpload verifies and stores the content whose last chunk arrived,
// and records it in the pool the session gets.
func (n *Node) commitUpload(u *binUpload) (int64, error) {
	in := u.in
	u.in = nil
	if in == nil {
		return 0, errors.New("no content") // takeChunk opens a file for every chunk it accepts
	}
	size := in.Size()
	if in.Sum() == u.pkg {
		if err := n.packages().Commit(in); err != nil {
			return size, err
		}
		u.wd, u.pkg = u.pkg, ""
		return size, nil
	}
	dst := filepath.Join(n.binDir, in.Sum())
	if err := in.Commit(dst, 0o755); err != nil {
		if _, ok := errors.AsType[*pkgstore.MismatchError](err); ok {
			return size, fmt.Errorf("%w: received program does not have sha256 %s", ErrBinaryMismatch, in.Sum()[:12])
		}
		return size, fmt.Errorf("binary cache: %w", err)
	}
	n.mu.Lock()
	n.bins[in.Sum()] = []string{dst}
	n.mu.Unlock()
	u.bin, u.sum = u.sum, ""
	return size, nil
}

// packedDir is a driver's working dir packed for upload, in a temporary
// file that remove deletes.
type packedDir struct {
	dir  string // absolute
	path string // the archive
	sum  string
	size int64
}

// packWorkDir packs dir (GORAY_WORKING_DIR of a driver that connects over
// TCP) the way the job API does, into a temporary file, so that neither
// packing nor sending holds the archive in memory.
func packWorkDir(ctx context.Context, dir string) (*packedDir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("runtime: working dir %s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("runtime: working dir: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("runtime: working dir %s is not a directory", abs)
	}
	f, err := os.CreateTemp("", "goray-workdir-*.tgz")
	if err != nil {
		return nil, fmt.Errorf("runtime: pack working dir: %w", err)
	}
	sum, size, err := pkgstore.Pack(ctx, f, abs, nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("runtime: pack working dir: %w", err)
	}
	return &packedDir{dir: abs, path: f.Name(), sum: sum, size: size}, nil
}

func (p *packedDir) remove() {
	if p != nil {
		_ = os.Remove(p.path)
	}
}

// uploadFile sends the file at path, which has sha256 sum, as mBinary
// chunks of kind, and waits until the node has verified and stored it.
// With acks each chunk waits for the node to take the previous one, so
// one chunk is in memory; without (an older node), every chunk is queued
// at once, as such nodes expect.
func (c *Client) uploadFile(ctx context.Context, kind int64, path, sum string, acks bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	left := st.Size()
	buf := make([]byte, uploadChunk)
	for {
		if !acks {
			buf = make([]byte, uploadChunk) // the queue keeps each chunk until written
		}
		k := int64(len(buf))
		if left < k {
			k = left
		}
		if _, err := io.ReadFull(f, buf[:k]); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		left -= k
		m := &msg{t: mBinary, n: kind, str: sum, data: buf[:k], flag: left == 0}
		switch {
		case m.flag || acks:
			// The reply means the node has taken the chunk, so buf is
			// free again: the writer sent it before the node could answer.
			if _, err := c.call(ctx, m); err != nil {
				return err
			}
		default:
			c.send(m)
		}
		if left == 0 {
			return nil
		}
	}
}

// uploadBinary sends this program to the node, after the node's hello
// asked for it.
func (c *Client) uploadBinary(ctx context.Context, acks bool) error {
	id, err := selfBinary()
	if err != nil {
		return fmt.Errorf("runtime: upload program: %w", err)
	}
	if err := c.uploadFile(ctx, uploadProgram, id.Path, id.SHA256, acks); err != nil {
		return fmt.Errorf("runtime: upload program %.12s: %w", id.SHA256, err)
	}
	return nil
}

// uploadWorkDir sends the packed working dir, after the node's hello
// asked for it.
func (c *Client) uploadWorkDir(ctx context.Context, p *packedDir, acks bool) error {
	if p == nil {
		return errors.New("runtime: upload working dir: the node asked for a package this driver did not offer")
	}
	if err := c.uploadFile(ctx, uploadPackage, p.path, p.sum, acks); err != nil {
		return fmt.Errorf("runtime: upload working dir %s (%.12s): %w", p.dir, p.sum, err)
	}
	return nil
}

// staleUpload is how long an upload's temporary file may go unwritten
// before a starting node takes it for a crash's leftover.
const staleUpload = time.Hour

// sweepStaleUploads removes what uploads interrupted by a crash left in
// the binary cache and the package store.
func (n *Node) sweepStaleUploads() {
	for _, dir := range []string{n.binDir, n.PackageCacheDir()} {
		k, err := pkgstore.SweepUploads(dir, staleUpload)
		if err != nil {
			n.log.Warn("cannot sweep interrupted uploads", "err", err)
		} else if k > 0 {
			n.log.Info("removed the files of interrupted uploads", "dir", dir, "files", k)
		}
	}
}
