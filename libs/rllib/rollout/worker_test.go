package rollout

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/goray/goray/libs/rllib"
	"github.com/goray/goray/plugins/envs"
)

// chain is a deterministic env: the observation counts the steps, every
// step pays 1, and with terminal set the episode terminates at step 3. Its
// TimeLimit is 3 steps, so without terminal it is truncated there.
type chain struct {
	terminal bool
	t        int
}

func (c *chain) Spec() envs.Spec {
	return envs.Spec{ID: "Chain-v0", MaxEpisodeSteps: 3,
		ObservationSpace: envs.Space{Kind: envs.KindBox, Shape: []int{1}, Dtype: "float32", Low: []float64{0}, High: []float64{10}},
		ActionSpace:      envs.Space{Kind: envs.KindDiscrete, N: 2}}
}
func (c *chain) Reset(_ *int64, _ map[string]any, obs []float64) (envs.Info, error) {
	c.t = 0
	obs[0] = 0
	return nil, nil
}
func (c *chain) Step(_ []float64, obs []float64) (float64, bool, envs.Info, error) {
	c.t++
	obs[0] = float64(c.t)
	return 1, c.terminal && c.t == 3, nil, nil
}
func (c *chain) Render(string) (envs.Render, error) { return envs.Render{}, nil }
func (c *chain) Close() error                       { return nil }

func chainMaker(ctx context.Context, cfg envs.VectorConfig) (envs.VectorEnv, error) {
	return envs.NewVector(func(kw envs.Kwargs) (envs.Env, error) {
		return &chain{terminal: kw["terminal"] == true}, nil
	}, cfg)
}

// newWorker builds a worker that is closed when the test ends.
func newWorker(t *testing.T, cfg WorkerConfig, maker EnvMaker) *RolloutWorker {
	t.Helper()
	w, err := NewRolloutWorker(context.Background(), cfg, maker)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// requireSameSamples draws n batches from each worker and fails on the
// first pair that differs in any field: every "continues exactly" claim
// (restore, crash recovery, plugin versus in-process) rests on it.
func requireSameSamples(t *testing.T, a, b *RolloutWorker, n int, what string) []*SampleBatch {
	t.Helper()
	ctx := context.Background()
	var got []*SampleBatch
	for i := 0; i < n; i++ {
		x, err := a.Sample(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		y, err := b.Sample(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("%s: sample %d differs:\n%+v\n%+v", what, i, x, y)
		}
		got = append(got, x)
	}
	return got
}

// newChainWorker has no hidden layers and all weights zero except the
// value head's bias, so V(s) = 2 everywhere.
func newChainWorker(t *testing.T, terminal bool, mode string, frag int) *RolloutWorker {
	t.Helper()
	cfg := WorkerConfig{Env: "Chain-v0", EnvConfig: map[string]any{"terminal": terminal}, NumEnvs: 1, FragmentLength: frag,
		BatchMode: mode, Model: rllib.Model{FcnetActivation: "tanh"}, Gamma: 0.5, Lambda: 1}
	w := newWorker(t, cfg, chainMaker)
	params := make([]float32, w.Policy().Model.NumParams())
	params[len(params)-1] = 2 // the value head's bias is the last parameter
	if err := w.SetWeights(params); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestGAEBootstrapsOnTruncationNeverOnTermination(t *testing.T) {
	cases := []struct {
		name     string
		terminal bool
		mode     string
		frag     int
		adv      []float64
		episodes int
	}{
		// Terminated at step 3 (also truncated there): no bootstrap, so
		// δ = 1 − 2 at the end and A = [−0.25, −0.5, −1]; the 4th step is a
		// fragment cut, bootstrapped: δ = 1 + 0.5·2 − 2 = 0.
		{"terminated", true, rllib.TruncateEpisodes, 4, []float64{-0.25, -0.5, -1, 0}, 1},
		// Truncated by the time limit: bootstrap with V(final obs) = 2.
		{"truncated", false, rllib.TruncateEpisodes, 4, []float64{0, 0, 0, 0}, 1},
		// complete_episodes: two whole episodes for a share of 4.
		{"complete", true, rllib.CompleteEpisodes, 4, []float64{-0.25, -0.5, -1, -0.25, -0.5, -1}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newChainWorker(t, c.terminal, c.mode, c.frag)
			b, err := w.Sample(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if b.Len() != len(c.adv) {
				t.Fatalf("%d transitions, want %d", b.Len(), len(c.adv))
			}
			for i, want := range c.adv {
				if math.Abs(float64(b.Advantages[i])-want) > 1e-6 || math.Abs(float64(b.ValueTargets[i])-(want+2)) > 1e-6 {
					t.Fatalf("advantages %v targets %v, want advantages %v (targets +2)", b.Advantages, b.ValueTargets, c.adv)
				}
			}
			if len(b.EpisodeRewards) != c.episodes || b.EpisodeRewards[0] != 3 || b.EpisodeLengths[0] != 3 {
				t.Fatalf("episodes %v lengths %v", b.EpisodeRewards, b.EpisodeLengths)
			}
			if want := []float32{0, 1, 2}; !slices.Equal(b.Obs[:3], want) {
				t.Fatalf("observations %v, want to start %v", b.Obs, want)
			}
		})
	}
}

// TestEpisodesContinueAcrossSamples: an episode cut by a fragment goes on
// in the next call, and its return counts once, in full.
func TestEpisodesContinueAcrossSamples(t *testing.T) {
	w := newChainWorker(t, true, rllib.TruncateEpisodes, 2)
	ctx := context.Background()
	b1, err := w.Sample(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := w.Sample(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b1.Obs, []float32{0, 1}) || !slices.Equal(b2.Obs, []float32{2, 0}) {
		t.Fatalf("observations %v then %v, want [0 1] then [2 0]", b1.Obs, b2.Obs)
	}
	if len(b1.EpisodeRewards) != 0 || len(b2.EpisodeRewards) != 1 || b2.EpisodeRewards[0] != 3 {
		t.Fatalf("episodes %v then %v", b1.EpisodeRewards, b2.EpisodeRewards)
	}
}

// TestStateRestoreReplaysRunningEpisodes: a worker rebuilt from State
// continues exactly where the original was.
func TestStateRestoreReplaysRunningEpisodes(t *testing.T) {
	ctx := context.Background()
	cfg := WorkerConfig{Env: "FrozenLake-v1", NumEnvs: 3, FragmentLength: 7, BatchMode: rllib.TruncateEpisodes,
		Seed: 5, WorkerIndex: 1, Model: rllib.Model{FcnetHiddens: []int{8}, FcnetActivation: "tanh"}, Gamma: 0.99, Lambda: 1}
	a := newWorker(t, cfg, DefaultEnvMaker)
	if _, err := a.Sample(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	cfg.State = st
	b := newWorker(t, cfg, DefaultEnvMaker)
	requireSameSamples(t, a, b, 3, "after restore")
	st.Episode = st.Episode[:1]
	if _, err := NewRolloutWorker(ctx, cfg, DefaultEnvMaker); err == nil {
		t.Fatal("restoring a state for the wrong number of sub-envs succeeded")
	}
}

// crashy wraps a vector and fails one Step with ErrPluginCrashed, after
// which it is dead, as a crashed plugin process is.
type crashy struct {
	envs.VectorEnv
	steps, crashAt int
	dead           bool
}

func (c *crashy) Step(ctx context.Context, a []float64) (*envs.Batch, error) {
	c.steps++
	if c.dead || c.steps == c.crashAt {
		c.dead = true
		return nil, &envs.EnvError{ID: "FrozenLake-v1", Plugin: "test", Err: envs.ErrPluginCrashed}
	}
	return c.VectorEnv.Step(ctx, a)
}

func TestCrashedEnvIsRestartedExactly(t *testing.T) {
	cfg := WorkerConfig{Env: "FrozenLake-v1", NumEnvs: 2, FragmentLength: 50, BatchMode: rllib.TruncateEpisodes,
		Seed: 9, WorkerIndex: 1, Model: rllib.Model{FcnetHiddens: []int{8}, FcnetActivation: "tanh"}, Gamma: 0.99, Lambda: 1}
	made := 0
	maker := func(ctx context.Context, vc envs.VectorConfig) (envs.VectorEnv, error) {
		v, err := DefaultEnvMaker(ctx, vc)
		if err != nil {
			return nil, err
		}
		made++
		if made == 1 {
			return &crashy{VectorEnv: v, crashAt: 37}, nil
		}
		return v, nil
	}
	a := newWorker(t, cfg, maker)
	b := newWorker(t, cfg, DefaultEnvMaker)
	requireSameSamples(t, a, b, 1, "across an env crash")
	if a.EnvRestarts() != 1 || made != 2 {
		t.Fatalf("env restarts %d, envs made %d; want 1 and 2", a.EnvRestarts(), made)
	}
}

func TestSampleBatchGobRoundTrip(t *testing.T) {
	w := newChainWorker(t, true, rllib.TruncateEpisodes, 5)
	b, err := w.Sample(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(b); err != nil {
		t.Fatal(err)
	}
	var got SampleBatch
	if err := gob.NewDecoder(&buf).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*b, got) {
		t.Fatalf("round trip:\n%+v\n%+v", *b, got)
	}
	raw, _ := b.GobEncode()
	for _, cut := range []int{0, 7, len(raw) / 2, len(raw) - 1} {
		if err := new(SampleBatch).GobDecode(raw[:cut]); !errors.Is(err, ErrBadBatch) {
			t.Fatalf("truncated to %d bytes: %v, want ErrBadBatch", cut, err)
		}
	}
}

// TestPluginAndInProcessSampleAlike: the env plugin subprocess (shm
// steps, NEXT_STEP autoresets inside the plugin's vector) and the
// in-process vector give the same batches, bit for bit.
func TestPluginAndInProcessSampleAlike(t *testing.T) {
	cfg := WorkerConfig{Env: "FrozenLake-v1", NumEnvs: 3, FragmentLength: 40, BatchMode: rllib.TruncateEpisodes,
		Seed: 3, WorkerIndex: 2, Model: rllib.Model{FcnetHiddens: []int{8}, FcnetActivation: "tanh"}, Gamma: 0.99, Lambda: 1}
	a := newWorker(t, cfg, DefaultEnvMaker)
	b := newWorker(t, cfg, InProcessEnvMaker)
	episodes := 0
	for _, x := range requireSameSamples(t, a, b, 3, "plugin versus in-process") {
		episodes += len(x.EpisodeRewards)
	}
	if episodes < 10 {
		t.Fatalf("%d episodes in 360 FrozenLake steps: the autoreset path was hardly exercised", episodes)
	}
}

// TestReplayLogStaysBounded: after many episodes the log holds at most
// ReseedAfter calls plus the longest episode (FrozenLake's limit is 100
// steps), some episodes began with a seeded reset, and a worker restored
// from that log continues exactly.
func TestReplayLogStaysBounded(t *testing.T) {
	ctx := context.Background()
	cfg := WorkerConfig{Env: "FrozenLake-v1", NumEnvs: 2, FragmentLength: 500, BatchMode: rllib.TruncateEpisodes,
		Seed: 11, WorkerIndex: 1, Model: rllib.Model{FcnetHiddens: []int{8}, FcnetActivation: "tanh"}, Gamma: 0.99, Lambda: 1}
	a := newWorker(t, cfg, InProcessEnvMaker)
	for i := 0; i < 6; i++ { // 3000 vector steps
		if _, err := a.Sample(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if n := len(a.ops); n > ReseedAfter+100+1 {
			t.Fatalf("after sample %d the replay log holds %d calls, want at most %d", i, n, ReseedAfter+101)
		}
	}
	if a.episode[0] < 100 || a.episode[1] < 100 {
		t.Fatalf("episodes %v: too few to exercise the reseeding", a.episode)
	}
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	if st.Ops[0].Mask == nil {
		t.Fatal("the replay log does not start with a seeded reset")
	}
	cfg.State = st
	b := newWorker(t, cfg, DefaultEnvMaker)
	requireSameSamples(t, a, b, 2, "after restore")
}

// TestRestoreWhileAutoresetPending: a checkpoint taken right after an
// episode ended (the vector resets that sub-env in the next step) restores
// into a worker that knows the next step is a reset, not a transition.
func TestRestoreWhileAutoresetPending(t *testing.T) {
	ctx := context.Background()
	a := newChainWorker(t, true, rllib.TruncateEpisodes, 3)
	if _, err := a.Sample(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.Pending, []bool{true}) {
		t.Fatalf("pending %v after an episode ended on the last step, want [true]", st.Pending)
	}
	cfg := a.cfg
	cfg.State = st
	b := newWorker(t, cfg, chainMaker)
	if err := b.SetWeights(a.params); err != nil {
		t.Fatal(err)
	}
	if y := requireSameSamples(t, a, b, 1, "after restore")[0]; !slices.Equal(y.Obs, []float32{0, 1, 2}) {
		t.Fatalf("after restore: observations %v, want [0 1 2]", y.Obs)
	}
}
