package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// ErrBinaryMismatch is wrapped when a driver's executable, as the node
// reads it, does not have the sha256 the driver announced (the file was
// rebuilt in between, or the path names a file on another machine).
var ErrBinaryMismatch = errors.New("runtime: driver binary mismatch")

// Worker binaries.
//
// A worker must be the same program as the driver whose tasks it runs:
// only that program registered the driver's functions and actor types. The
// node's own worker command (os.Executable() or NodeConfig.WorkerCommand)
// serves the embedded driver; a driver that connects over the socket
// announces its executable's path and sha256 in its hello, and the node
// keeps a separate worker pool for each distinct binary. Pools are keyed by
// the hash, not the path, so a rebuilt program at the same path never
// shares workers with the old one, and the node runs a private copy stored
// content-addressed in its binary cache, so that rebuilding or deleting the
// driver's file while it runs does not change what its workers execute.
//
// The key "" is the node's default binary.

// binHash is the hex sha256 of a file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// selfBinary is this process's executable and its hash, computed once (a
// driver sends them in every hello).
var selfBinary = sync.OnceValues(func() (binaryID, error) {
	exe, err := os.Executable()
	if err != nil {
		return binaryID{}, err
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	sum, err := fileSHA256(exe)
	if err != nil {
		return binaryID{}, err
	}
	return binaryID{Path: exe, SHA256: sum}, nil
})

// binaryID names an executable by path and content.
type binaryID struct {
	Path   string
	SHA256 string // hex
}

// defaultBinaryHash is the hash of the node's default worker executable,
// computed once ("" if it cannot be read).
func (n *Node) defaultBinaryHash() string {
	n.defHashOnce.Do(func() {
		argv := n.cfg.WorkerCommand
		if len(argv) == 0 {
			if id, err := selfBinary(); err == nil {
				n.defHash = id.SHA256
			}
			return
		}
		if len(argv) == 1 { // with extra arguments the command is not just the binary
			if sum, err := fileSHA256(argv[0]); err == nil {
				n.defHash = sum
			}
		}
	})
	return n.defHash
}

// BinaryCacheDir is where the node keeps its content-addressed copies of
// driver binaries.
func (n *Node) BinaryCacheDir() string { return n.binDir }

// resolveDriverBinary maps a driver's announced executable to a worker
// pool key, copying the file into the cache the first time. It does file
// I/O and must be called without n.mu. A driver whose binary the node
// cannot read (a remote machine's path) or whose hash does not match gets
// the default pool, and the reason is logged: its tasks then fail with
// ErrUnknownFunction if the default binary lacks its functions.
func (n *Node) resolveDriverBinary(path, sum string) string {
	if path == "" || sum == "" || sum == n.defaultBinaryHash() {
		return ""
	}
	n.mu.Lock()
	_, known := n.bins[sum]
	n.mu.Unlock()
	if known {
		return sum
	}
	cached, err := n.cacheBinary(path, sum)
	if err != nil {
		n.log.Warn("driver binary unusable; its tasks run in the node's default workers", "path", path, "err", err)
		return ""
	}
	n.mu.Lock()
	n.bins[sum] = []string{cached}
	n.mu.Unlock()
	n.log.Info("new driver binary", "path", path, "sha256", sum[:12], "cached", cached)
	return sum
}

// cacheBinary copies path into the cache as <dir>/<sum>, verifying the
// hash of what it copied. An existing cache entry is reused (it was
// verified when written).
func (n *Node) cacheBinary(path, sum string) (string, error) {
	if len(sum) != 64 {
		return "", fmt.Errorf("%w: bad sha256 %q", ErrBinaryMismatch, sum)
	}
	dst := filepath.Join(n.binDir, sum)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return dst, nil
	}
	if err := os.MkdirAll(n.binDir, 0o755); err != nil {
		return "", fmt.Errorf("binary cache: %w", err)
	}
	src, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("binary cache: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(n.binDir, sum[:16]+".tmp*")
	if err != nil {
		return "", fmt.Errorf("binary cache: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != sum {
		err = fmt.Errorf("%w: %s does not have sha256 %s", ErrBinaryMismatch, path, sum[:12])
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err == nil {
		// Rename is atomic: a concurrent node caching the same binary
		// never runs a half-written file.
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("binary cache: %w", err)
	}
	return dst, nil
}

// workerArgvLocked is the command that starts a worker of pool key (its
// program; the working dir is workDirOf's).
func (n *Node) workerArgvLocked(key string) ([]string, error) {
	bin, _ := splitPool(key)
	if bin == n.defHash { // a forwarded pool may name the default by its hash
		bin = ""
	}
	if bin != "" {
		if argv, ok := n.bins[bin]; ok {
			return argv, nil
		}
		return nil, fmt.Errorf("runtime: start worker: unknown binary %s", bin)
	}
	if len(n.cfg.WorkerCommand) > 0 {
		return n.cfg.WorkerCommand, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("runtime: start worker: %w", err)
	}
	return []string{exe}, nil
}
