package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A peer that accepts connections but never answers (a stalled gorayd the
// membership still lists) costs the forwarded submission one call timeout,
// and the next peer, which can hold the driver, gets the job. Before,
// the submission waited on the mute peer for as long as its caller did.
func TestForwardSkipsAMutePeer(t *testing.T) {
	old := forwardCallTimeout
	forwardCallTimeout = 300 * time.Millisecond
	t.Cleanup(func() { forwardCallTimeout = old })

	var lc net.ListenConfig
	mute, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0") // never accepts
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	peerHold := &fakeHolder{free: map[string]float64{"CPU": 2, "GPU": 1}}
	peer, _ := newHoldingManager(t, peerHold)
	peerSrv := httptest.NewServer(Handler(peer, ""))
	defer peerSrv.Close()
	peerAddr := strings.TrimPrefix(peerSrv.URL, "http://")
	peerHold.nodes = []NodeResources{{ID: "peer", Name: "big", Addr: peerAddr, Self: true, Total: map[string]float64{"CPU": 2, "GPU": 1}}}
	hold := &fakeHolder{free: map[string]float64{"CPU": 2}, nodes: []NodeResources{
		{ID: "self", Name: "small", Self: true, Total: map[string]float64{"CPU": 2}},
		{ID: "mute", Name: "mute", Addr: mute.Addr().String(), Total: map[string]float64{"CPU": 2, "GPU": 1}},
		{ID: "peer", Name: "big", Addr: peerAddr, Total: map[string]float64{"CPU": 2, "GPU": 1}},
	}}
	m, _ := newHoldingManager(t, hold)
	dir := t.TempDir()
	path := writeJob(t, dir, "name = \"gpu\"\n[entrypoint]\ncommand = \"true\"\n[resources]\nnum_gpus = 1\n")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(SubmitRequest{JobFile: string(src), JobFilePath: filepath.Join(dir, "job.toml")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/jobs/", bytes.NewReader(body))
	rec := httptest.NewRecorder()
	Handler(m, "").ServeHTTP(rec, req)
	if ctx.Err() != nil {
		t.Fatal("the submission waited on the mute peer until the test's own deadline")
	}
	if rec.Code/100 != 2 {
		t.Fatalf("submit: %d %s", rec.Code, rec.Body.String())
	}
	var info Info
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info.NodeID != "peer" || len(peer.List()) != 1 {
		t.Fatalf("job on %q, peer has %d jobs; want it on the peer that can hold it", info.NodeID, len(peer.List()))
	}
}
