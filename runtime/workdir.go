package runtime

import (
	"bytes"
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
// A driver that connects over TCP, which may be on another machine, never
// announces a plain path: its client packs GORAY_WORKING_DIR into a
// package and uploads it when the node lacks it (driver_upload.go), so it
// is then treated exactly like a job's uploaded dir. A working dir without
// a package (a driver started by `goray submit` on an embedded cluster, or
// by hand on a daemon's machine) is a plain local path: workers on the
// same node use it, and tasks forwarded elsewhere run in the peer's
// default directory, since there is nothing to ship.

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
	// UploadPkg: the driver can send Pkg, which it packed from Dir on its
	// own machine, if the node lacks it.
	UploadPkg bool
	// Job is the driver's job ID (EnvJobID; "" when no job started it):
	// the node tags the driver's tasks, actors and objects with it.
	Job string
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
	if h.UploadPkg {
		b.WriteString("\nuploadpkg=1")
	}
	if h.Job != "" && !strings.ContainsRune(h.Job, '\n') {
		b.WriteString("\njob=" + h.Job)
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
		case "uploadpkg":
			h.UploadPkg = v == "1"
		case "job":
			h.Job = v
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

// resolveDriverHello maps a driver's hello to its worker pool. It does
// file I/O and must be called without n.mu. A driver on this machine (a
// unix-socket session) is read from its path; a driver that connected over
// TCP may be on another machine, so its paths mean nothing here: the node
// uses its binary cache and package store, or, when the driver offers,
// asks for the program and the working dir's package (ask) and completes
// the pool when their last chunks arrive (driver_upload.go).
func (n *Node) resolveDriverHello(s *session, m *msg) (key string, ask uploadAsk) {
	h := parseDriverHello(m.str2, m.data)
	if h.Job != "" {
		n.mu.Lock()
		s.job = h.Job // taskhistory.go
		n.mu.Unlock()
	}
	var u binUpload
	if h.UploadPkg && !s.sameHost && pkgstore.ValidSum(h.Pkg) && !n.HasPackage(h.Pkg) {
		u.pkg = h.Pkg // the pool's dir is known once it arrived
	} else {
		u.wd = n.driverWorkDir(s, h)
	}
	switch {
	case h.BinSHA == "":
	case s.sameHost:
		u.bin = n.resolveDriverBinary(h.BinPath, h.BinSHA)
	case n.HasBinary(h.BinSHA):
		u.bin = h.BinSHA
	case !h.Upload || !pkgstore.ValidSum(h.BinSHA):
		n.log.Warn("a remote driver's program is not here; its tasks run in the node's default workers", "sha256", h.BinSHA)
	default:
		u.sum = h.BinSHA
	}
	key = n.WorkerPool(u.bin, u.wd)
	n.mu.Lock()
	old := s.upload
	s.upload = nil
	if u.sum != "" || u.pkg != "" {
		s.upload = &u
	}
	n.mu.Unlock()
	if old != nil {
		old.abort() // a second hello: the first one's partial file goes
	}
	if u.sum == "" && u.pkg == "" {
		return key, 0
	}
	return key, u.ask()
}
