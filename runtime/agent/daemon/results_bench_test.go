package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFollowResults measures what the observer spends per result.json
// line of a PPO run (tail, decode, curve point, step counts): the cost of
// following a training job.
func BenchmarkFollowResults(b *testing.B) {
	hist := strings.TrimSuffix(strings.Repeat("0.0,", 100), ",")
	var sb strings.Builder
	const lines = 1000
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&sb, `{"training_iteration":%d,"timesteps_total":%d,"episode_reward_mean":0.02,"num_env_steps_sampled":%d,"num_env_steps_trained":%d,`+
			`"hist_stats":{"episode_reward":[%s],"episode_lengths":[%s]},"info":{"learner":{"default_policy":{"learner_stats":{"kl":0.01,"entropy":1.3}}}},"time_total_s":%d.5}`+"\n",
			i, 400*i, 400*i, 400*i, hist, hist, i)
	}
	p := filepath.Join(b.TempDir(), resultFile)
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ReportAllocs()
	for b.Loop() {
		tl := &tailer{path: p}
		var sc stepCounter
		got, err := tl.next()
		if err != nil || len(got) != lines {
			b.Fatalf("%d lines, %v", len(got), err)
		}
		for _, l := range got {
			r, err := parseResult(l)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := r.curvePoint("j", "", ""); !ok {
				b.Fatal("no point")
			}
			sc.add(r)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines)/1000, "µs/line")
}
