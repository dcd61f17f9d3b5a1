package rllib

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestStopConditions(t *testing.T) {
	r := &Result{TrainingIteration: 5, TimestepsTotal: 20000, TimeTotalS: 3}
	r.EpisodeRewardMean = 0.7
	goal, high := 0.7, 0.8
	cases := []struct {
		name string
		stop StopConfig
		done bool
	}{
		{"iterations reached", StopConfig{TrainingIteration: 5}, true},
		{"iterations not reached", StopConfig{TrainingIteration: 6}, false},
		{"timesteps", StopConfig{TimestepsTotal: 20000}, true},
		{"reward reached", StopConfig{EpisodeRewardMean: &goal}, true},
		{"reward not reached", StopConfig{EpisodeRewardMean: &high}, false},
		{"time", StopConfig{TimeTotalS: 2.5}, true},
		{"any of several", StopConfig{TrainingIteration: 100, TimestepsTotal: 10000}, true},
		{"empty", StopConfig{}, false},
	}
	for _, c := range cases {
		if got := c.stop.Done(r); got != c.done {
			t.Errorf("%s: Done = %v, want %v", c.name, got, c.done)
		}
	}
	r.EpisodeRewardMean = Float(math.NaN())
	if (StopConfig{EpisodeRewardMean: &goal}).Done(r) {
		t.Error("NaN reward met a reward stop")
	}
}

func TestEpisodeWindowAndNaN(t *testing.T) {
	w := NewEpisodeWindow(3)
	s := w.Stats(0)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"episode_reward_mean":null`) {
		t.Fatalf("no episodes: %s, want null stats", b)
	}
	for i := 1; i <= 5; i++ {
		w.Add(float64(i), i*10)
	}
	s = w.Stats(2)
	if s.EpisodeRewardMean != 4 || s.EpisodeRewardMin != 3 || s.EpisodeRewardMax != 5 || s.EpisodeLenMean != 40 || w.Total != 5 || s.EpisodesThisIter != 2 {
		t.Fatalf("stats %+v total %d", s, w.Total)
	}
	var f Float
	if err := json.Unmarshal([]byte("null"), &f); err != nil || !math.IsNaN(float64(f)) {
		t.Fatalf("null decodes to %v, %v", f, err)
	}
}
