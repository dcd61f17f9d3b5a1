package runtime

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSweepHelperProcess is not a test: run by TestStaleDirsOfKilledNodeAreSwept
// as a child, it starts a node, prints its directories and waits to be killed.
func TestSweepHelperProcess(t *testing.T) {
	if os.Getenv("GORAY_SWEEP_HELPER") != "1" {
		t.Skip("helper process")
	}
	n, err := NewNode(NodeConfig{NumCPUs: 1, PrestartWorkers: -1, ObjectStoreMemory: 64 << 20}, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if err := n.Start(context.Background()); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("dirs", n.StoreDir(), filepath.Dir(n.SocketPath()))
	select {} // until SIGKILL
}

func TestStaleDirsOfKilledNodeAreSwept(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSweepHelperProcess$")
	cmd.Env = append(os.Environ(), "GORAY_SWEEP_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var dirs []string
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "dirs" {
			dirs = f[1:]
			break
		}
	}
	if dirs == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("helper printed no directories")
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("the killed node's %s is already gone (%v): nothing to sweep", d, err)
		}
	}
	// A directory whose owner lives, and one without an owner record, stay.
	live, err := os.MkdirTemp("", "goray-node-live-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(live)
	if err := writeOwner(live); err != nil {
		t.Fatal(err)
	}
	foreign, err := os.MkdirTemp("", "goray-node-foreign-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(foreign)

	startNode(t, NodeConfig{PrestartWorkers: -1}) // sweeps when created
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s of the killed node survived the sweep (%v)", d, err)
		}
	}
	for _, d := range []string{live, foreign} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was swept: %v", d, err)
		}
	}
}

func TestOwnerAliveDetectsRecycledPID(t *testing.T) {
	dir := t.TempDir()
	rec := fmt.Sprintf("%d 1\n", os.Getpid()) // our PID, but another start time
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	if procStartTime(os.Getpid()) == "" {
		t.Skip("no /proc")
	}
	if alive, ok := ownerAlive(dir); !ok || alive {
		t.Fatalf("ownerAlive = %v, %v; want dead (recycled PID)", alive, ok)
	}
	if err := writeOwner(dir); err != nil {
		t.Fatal(err)
	}
	if alive, ok := ownerAlive(dir); !ok || !alive {
		t.Fatalf("ownerAlive(self) = %v, %v", alive, ok)
	}
}
