package goray_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goray/goray"
)

// TestMicrobenchmarkRuns runs every metric briefly and checks each is
// reported with a positive value.
func TestMicrobenchmarkRuns(t *testing.T) {
	ctx, _ := initRT(t, goray.Config{})
	var out bytes.Buffer
	res, err := goray.RunMicrobenchmark(ctx, goray.BenchOptions{Duration: 20 * time.Millisecond, LargeObject: 4 << 20, Parallelism: 2}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 15 {
		t.Fatalf("%d metrics:\n%s", len(res), out.String())
	}
	for _, r := range res {
		if !(r.Value > 0) {
			t.Errorf("%s = %v", r.Name, r.Value)
		}
		if !strings.Contains(out.String(), r.Name) {
			t.Errorf("%s not printed", r.Name)
		}
	}
}

func benchMetric(b *testing.B, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := goray.Init(ctx, goray.Config{NumCPUs: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	ctx = goray.WithRuntime(ctx, rt)
	b.ResetTimer()
	res, err := goray.RunMicrobenchmark(ctx, goray.BenchOptions{Duration: time.Second, Filter: name}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		if r.Name == name {
			unit := "ops/s"
			if r.Unit == "GB/s" {
				unit = "GB/s"
			}
			b.ReportMetric(r.Value, unit)
		}
	}
}

func BenchmarkTasksSync(b *testing.B)      { benchMetric(b, "single_client_tasks_sync") }
func BenchmarkTasksAsync(b *testing.B)     { benchMetric(b, "single_client_tasks_async") }
func BenchmarkActorCallsSync(b *testing.B) { benchMetric(b, "1_1_actor_calls_sync") }
func BenchmarkActorCallsAsync(b *testing.B) {
	benchMetric(b, "1_1_actor_calls_async")
}
func BenchmarkPutGigabytes(b *testing.B) { benchMetric(b, "single_client_put_gigabytes") }
func BenchmarkGetGigabytes(b *testing.B) { benchMetric(b, "single_client_get_gigabytes") }
func BenchmarkMemcpy(b *testing.B)       { benchMetric(b, "memcpy_gigabytes") }
