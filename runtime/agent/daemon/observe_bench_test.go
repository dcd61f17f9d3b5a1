package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/goray/goray/runtime/agent"
	"github.com/goray/goray/runtime/jobs"
)

// BenchmarkObserverWith1000Jobs measures, on a daemon that has run 1,000
// jobs, one refresh of the observer (jobs by state, job outputs, members,
// resources, store: what it does every 500 ms) and one page of the jobs
// list as the dashboard asks for it.
func BenchmarkObserverWith1000Jobs(b *testing.B) {
	dir := b.TempDir()
	cfg := agent.DefaultConfig()
	cfg.Dev = true
	cfg.Gossip.Port, cfg.RPC.Port, cfg.HTTP.Port = 0, 0, 0
	cfg.DataDir = dir
	cfg.Resources.CPU, cfg.Resources.GPU = 2, 0
	cfg.ObjectStore.Memory = 64 << 20
	cfg.Worker.Prestart = -1
	d, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = d.Shutdown(context.Background()) }()
	const n = 1000
	var last string
	for i := range n {
		spec, err := jobs.Parse("job.toml", filepath.Join(dir, "job.toml"), []byte(fmt.Sprintf("name = \"j%d\"\n[entrypoint]\ncommand = \"true\"\n", i)))
		if err != nil {
			b.Fatal(err)
		}
		info, err := d.Jobs().Submit(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		last = info.ID
		if i%50 == 49 {
			// Keep the number of live drivers small on a 2-core machine.
			if _, err := d.Jobs().Wait(ctx, info.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := d.Jobs().Wait(ctx, last); err != nil {
		b.Fatal(err)
	}
	o := d.obs
	o.refresh(ctx) // every job read once more after its end, then never again
	b.Run("refresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o.refresh(ctx)
		}
	})
	// What the dashboard's jobs view costs: one page of 50 over HTTP.
	b.Run("api_jobs_page", func(b *testing.B) {
		url := "http://" + d.Agent().HTTPAddr() + "/api/v0/jobs?limit=50&status=SUCCEEDED"
		b.ReportAllocs()
		for b.Loop() {
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
	})
}
