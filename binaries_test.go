package goray_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray"
	"github.com/goray/goray/internal/testutil"
)

// A driver built as its own program connects to a node that another
// program started: its tasks and actors run in workers of its binary (the
// node's default workers, this test binary, lack its functions), and the
// node's own driver keeps using the default workers.
func TestSeparateDriverBinaryRunsItsOwnFunctions(t *testing.T) {
	ctx, rt := initRT(t, goray.Config{NumCPUs: 2})
	bin := testutil.BuildBinary(t, "github.com/goray/goray/testdata/ownbinary")
	node := rt.Node()
	// A stand-in for gorayd's HTTP API: drivers given the daemon's address
	// ask /v1/nodes for the engine's address.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/nodes" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"driver_address":%q,"nodes":[]}`, "unix://"+node.SocketPath())
	}))
	defer api.Close()
	addrs := []string{
		"unix://" + node.SocketPath(),
		api.URL,                                // http://host:port
		strings.TrimPrefix(api.URL, "http://"), // bare host:port, as the CLI takes it
	}
	// Later runs reuse the cached binary and its idle workers.
	for round, addr := range addrs {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		cmd := exec.CommandContext(cctx, bin)
		cmd.Env = append(os.Environ(), "GORAY_ADDRESS="+addr)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("round %d (%s): driver: %v\n%s", round, addr, err, out)
		}
		lines := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if k, v, ok := strings.Cut(l, " "); ok {
				lines[k] = v
			}
		}
		if lines["cubes"] != "784" || lines["tally"] != "15" {
			t.Fatalf("round %d: driver output %q", round, out)
		}
		p, err := strconv.Atoi(lines["workerpid"])
		if err != nil {
			t.Fatalf("round %d: driver output %q", round, out)
		}
		// The worker runs the node's content-addressed copy of the driver.
		exe, err := os.Readlink("/proc/" + strconv.Itoa(p) + "/exe")
		if err == nil && filepath.Dir(exe) != node.BinaryCacheDir() {
			t.Fatalf("driver's worker runs %s, want a copy in %s", exe, node.BinaryCacheDir())
		}
	}
	// The embedding driver's functions still run (in its own workers).
	if v, err := square.Remote(ctx, 9).Get(ctx); err != nil || v != 81 {
		t.Fatalf("square(9) after the other driver = %v, %v", v, err)
	}
}
