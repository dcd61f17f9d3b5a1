package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goray/goray/runtime/pkgstore"
)

// Working directories.
//
// A job's driver runs in its working_dir, and so must every worker that
// runs the driver's tasks and actors, on every node: a task that opens
// "data.txt" must find the file the driver would find. The driver learns
// its working dir from the job manager (EnvWorkingDir, and
// EnvWorkingDirPackage when the dir arrived as a content-addressed
// package) and announces both in its hello. The node then runs the
// driver's work in a worker pool keyed by the program AND the working dir
// (poolKey), whose workers start with that dir as their current
// directory. A task forwarded to a peer carries the package's sha256; the
// peer fetches the package from the sender once (runtime/remote) and
// starts its workers in its own unpacked copy.
//
// A working dir without a package (a driver started by `goray submit` on an
// embedded cluster, or by hand) is a plain local path: workers on the same
// node use it, and tasks forwarded elsewhere run in the peer's default
// directory, since there is nothing to ship.

// Environment variables through which the job manager tells a driver its
// working dir; the driver's client announces them to its node.
const (
	// EnvWorkingDir is the absolute path of the driver's working dir.
	EnvWorkingDir = "GORAY_WORKING_DIR"
	// EnvWorkingDirPackage is the sha256 of the working dir's package,
	// when it was uploaded as one.
	EnvWorkingDirPackage = "GORAY_WORKING_DIR_PACKAGE"
)

// poolKey names the worker pool of program bin (a sha256, "" the node's
// default) in working dir wd (a package sha256, an absolute local path, or
// "" for the node's own directory). A pool without a working dir keeps the
// plain binary key, so everything that predates working dirs is unchanged.
func poolKey(bin, wd string) string {
	if wd == "" {
		return bin
	}
	return bin + "@" + wd
}

// splitPool undoes poolKey. A sha256 never contains "@", so the first one
// separates the parts even when the working dir is a path containing "@".
func splitPool(key string) (bin, wd string) {
	bin, wd, _ = strings.Cut(key, "@")
	return bin, wd
}

// packages is the node's package store.
func (n *Node) packages() pkgstore.Store {
	return pkgstore.Store{Dir: n.PackageCacheDir()}
}

// PackageCacheDir is where the node keeps working-dir packages, unpacked
// and as archives.
func (n *Node) PackageCacheDir() string {
	if d := n.cfg.PackageCacheDir; d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("goray-pkg-%d", os.Getuid()))
}

// HasPackage reports whether the working-dir package sum is stored here.
func (n *Node) HasPackage(sum string) bool { return n.packages().Has(sum) }

// AddPackage verifies that data hashes to sum and stores the package;
// errors wrap pkgstore.ErrBadPackage when the content is wrong.
func (n *Node) AddPackage(sum string, data []byte) error {
	return n.packages().PutBytes(sum, data)
}

// PackageArchive returns the stored archive of package sum, or "" if this
// node does not have it.
func (n *Node) PackageArchive(sum string) string {
	s := n.packages()
	if !s.Has(sum) {
		return ""
	}
	return s.ArchivePath(sum)
}

// WorkerPool returns the pool in which a forwarded task of program bin
// (registered with HasBinary or AddBinary) and working-dir package pkg
// (stored with AddPackage, or "") runs.
func (n *Node) WorkerPool(bin, pkg string) string {
	if bin == n.defaultBinaryHash() {
		bin = ""
	}
	return poolKey(bin, pkg)
}

// workDirOf is the current directory of pool key's workers; "" keeps the
// node's own.
func (n *Node) workDirOf(key string) string {
	_, wd := splitPool(key)
	switch {
	case wd == "":
		return ""
	case filepath.IsAbs(wd):
		return wd
	default:
		return n.packages().Path(wd)
	}
}

// forwardParts splits a task's pool key into what a ForwardMessage
// carries: the program's hash and the working dir's package. A plain local
// working dir does not travel (the peer cannot have it).
func (n *Node) forwardParts(key string) (bin, pkg string) {
	bin, wd := splitPool(key)
	if bin == "" {
		bin = n.defaultBinaryHash()
	}
	if pkgstore.ValidSum(wd) {
		pkg = wd
	}
	return bin, pkg
}

// driverHello is what a driver announces about itself in its hello, in
// the message's str2 (the executable's path) and data (the rest, one
// "key=value" per line after the binary's hash, so that a node that reads
// only the first line still gets the hash).
type driverHello struct {
	BinPath string
	BinSHA  string
	// Dir and Pkg are the driver's working dir and its package.
	Dir string
	Pkg string
	// Upload: the driver can send its program if the node lacks it.
	Upload bool
}

func (h driverHello) encode() (str2 string, data []byte) {
	var b bytes.Buffer
	b.WriteString(h.BinSHA)
	if h.Dir != "" {
		b.WriteString("\ndir=" + h.Dir)
	}
	if h.Pkg != "" {
		b.WriteString("\npkg=" + h.Pkg)
	}
	if h.Upload {
		b.WriteString("\nupload=1")
	}
	return h.BinPath, b.Bytes()
}

func parseDriverHello(str2 string, data []byte) driverHello {
	lines := strings.Split(string(data), "\n")
	h := driverHello{BinPath: str2, BinSHA: lines[0]}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "dir":
			h.Dir = v
		case "pkg":
			h.Pkg = v
		case "upload":
			h.Upload = v == "1"
		}
	}
	return h
}

// driverWorkDir picks the working dir a driver's workers run in: its
// package when this node stores it, else its local path when the driver
// shares this machine and the path is a directory here, else none.
func (n *Node) driverWorkDir(s *session, h driverHello) string {
	if h.Pkg != "" && n.HasPackage(h.Pkg) {
		return h.Pkg
	}
	if s.sameHost && filepath.IsAbs(h.Dir) {
		if st, err := os.Stat(h.Dir); err == nil && st.IsDir() {
			return h.Dir
		}
	}
	if h.Pkg != "" || h.Dir != "" {
		n.log.Warn("a driver's working dir is not on this node; its workers run in the node's directory", "dir", h.Dir, "package", h.Pkg)
	}
	return ""
}

// binUpload is a driver's program arriving in chunks (mBinary) because
// the node did not have it.
type binUpload struct {
	sum string
	wd  string
	buf bytes.Buffer
	err string // the first refusal; reported with the last chunk
}

// maxUploadBytes bounds an uploaded program.
const maxUploadBytes = 2 << 30

// resolveDriverHello maps a driver's hello to its worker pool. It does
// file I/O and must be called without n.mu. A driver on this machine (a
// unix-socket session) is read from its path; a driver that connected over
// TCP may be on another machine, so its path means nothing here: the node
// uses its cache, or, when the driver offers, asks for the program
// (upload) and completes the pool when the last chunk arrives.
func (n *Node) resolveDriverHello(s *session, m *msg) (key string, upload bool) {
	h := parseDriverHello(m.str2, m.data)
	wd := n.driverWorkDir(s, h)
	if h.BinSHA == "" {
		return poolKey("", wd), false
	}
	if s.sameHost {
		return poolKey(n.resolveDriverBinary(h.BinPath, h.BinSHA), wd), false
	}
	if n.HasBinary(h.BinSHA) {
		return n.WorkerPool(h.BinSHA, wd), false
	}
	if !h.Upload || !pkgstore.ValidSum(h.BinSHA) {
		n.log.Warn("a remote driver's program is not here; its tasks run in the node's default workers", "sha256", h.BinSHA)
		return poolKey("", wd), false
	}
	n.mu.Lock()
	s.upload = &binUpload{sum: h.BinSHA, wd: wd}
	n.mu.Unlock()
	return poolKey("", wd), true
}

// onBinaryChunk receives one chunk of a driver's program. The last chunk
// (flag) carries a request ID: the node verifies and stores the program,
// moves the session to its pool, and replies, with the first error if any
// chunk was refused. It runs on the session's reader goroutine, without
// n.mu, because it does I/O.
func (n *Node) onBinaryChunk(s *session, m *msg) {
	n.mu.Lock()
	u := s.upload
	n.mu.Unlock()
	if u == nil {
		if m.req != 0 {
			s.send(&msg{t: mReply, req: m.req, err: &ErrorInfo{Kind: ErrKindSystem, Message: "runtime: program upload: the node did not ask for one"}})
		}
		return
	}
	switch {
	case u.err != "":
	case m.str != u.sum:
		u.err = fmt.Sprintf("runtime: program upload: chunk of %.12s, want %.12s", m.str, u.sum)
	case u.buf.Len()+len(m.data) > maxUploadBytes:
		u.err = fmt.Sprintf("runtime: program upload: larger than %d MiB", maxUploadBytes>>20)
	default:
		u.buf.Write(m.data)
	}
	if u.err != "" {
		u.buf = bytes.Buffer{}
	}
	if !m.flag {
		return
	}
	size := u.buf.Len()
	if u.err == "" {
		if err := n.AddBinary(u.sum, &u.buf); err != nil {
			u.err = fmt.Sprintf("runtime: program upload: %v", err)
		}
	}
	key := n.WorkerPool(u.sum, u.wd) // hashes the default binary once: not under n.mu
	n.mu.Lock()
	s.upload = nil
	if u.err == "" {
		s.bin = key
	}
	n.mu.Unlock()
	if u.err != "" {
		s.send(&msg{t: mReply, req: m.req, err: &ErrorInfo{Kind: ErrKindSystem, Message: u.err}})
		return
	}
	n.log.Info("a driver uploaded its program", "sha256", u.sum[:12], "bytes", size)
	s.send(&msg{t: mReply, req: m.req})
}

// uploadChunk is the size of one mBinary frame: big enough that a program
// costs few frames, small enough not to hold up the connection's other
// messages for long.
const uploadChunk = 4 << 20

// uploadBinary sends this program to the node in chunks, after the node's
// hello asked for it, and waits until the node has verified and stored it.
func (c *Client) uploadBinary(ctx context.Context) error {
	id, err := selfBinary()
	if err != nil {
		return fmt.Errorf("runtime: upload program: %w", err)
	}
	data, err := os.ReadFile(id.Path)
	if err != nil {
		return fmt.Errorf("runtime: upload program: %w", err)
	}
	for len(data) > uploadChunk {
		c.send(&msg{t: mBinary, str: id.SHA256, data: data[:uploadChunk]})
		data = data[uploadChunk:]
	}
	if _, err := c.call(ctx, &msg{t: mBinary, str: id.SHA256, data: data, flag: true}); err != nil {
		return fmt.Errorf("runtime: upload program %.12s: %w", id.SHA256, err)
	}
	return nil
}
