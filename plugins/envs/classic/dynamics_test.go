package classic

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/goray/goray/plugins/envs"
)

func step(t *testing.T, e envs.Env, a float64, obs []float64) (float64, bool, envs.Info) {
	t.Helper()
	r, term, info, err := e.Step([]float64{a}, obs)
	if err != nil {
		t.Fatal(err)
	}
	return r, term, info
}

func reset(t *testing.T, e envs.Env, seed int64, obs []float64) envs.Info {
	t.Helper()
	info, err := e.Reset(seedPtr(seed), nil, obs)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// From the centre of an all-frozen 3×3 lake, LEFT goes UP, LEFT or DOWN
// with probability 1/3 each (never RIGHT).
func TestFrozenLakeSlipFrequencies(t *testing.T) {
	e := mustMake(t, "FrozenLake-v1", envs.Kwargs{"desc": []any{"FFF", "FSF", "FFF"}})
	obs := make([]float64, 1)
	reset(t, e, 1, obs)
	counts := map[float64]int{}
	n := 30000
	for range n {
		if _, err := e.Reset(nil, nil, obs); err != nil {
			t.Fatal(err)
		}
		if obs[0] != 4 {
			t.Fatalf("start state %v, want 4", obs[0])
		}
		_, term, info := step(t, e, flLeft, obs)
		if term {
			t.Fatal("terminated on frozen tile")
		}
		p := info["prob"].(float64)
		if math.Abs(p-1.0/3) > 1e-15 {
			t.Fatalf("prob %v, want 1/3", p)
		}
		counts[obs[0]]++
	}
	// UP → 1, LEFT → 3, DOWN → 7; 4σ of a binomial(n, 1/3) proportion.
	bound := 4 * math.Sqrt((1.0/3)*(2.0/3)/float64(n))
	for _, s := range []float64{1, 3, 7} {
		if f := float64(counts[s]) / float64(n); math.Abs(f-1.0/3) > bound {
			t.Errorf("outcome %v frequency %.4f, want 1/3 ± %.4f", s, f, bound)
		}
	}
	if len(counts) != 3 {
		t.Errorf("outcomes %v, want only 1, 3, 7", counts)
	}
}

func TestFrozenLakeSuccessRate(t *testing.T) {
	e := mustMake(t, "FrozenLake-v1", envs.Kwargs{"desc": []any{"FFF", "FSF", "FFF"}, "success_rate": 0.8})
	obs := make([]float64, 1)
	reset(t, e, 3, obs)
	hits, n := 0, 20000
	for range n {
		e.Reset(nil, nil, obs)
		step(t, e, flRight, obs)
		if obs[0] == 5 {
			hits++
		}
	}
	if f := float64(hits) / float64(n); math.Abs(f-0.8) > 0.012 {
		t.Errorf("intended move frequency %.4f, want 0.8", f)
	}
}

// Holes and the goal terminate the episode and are absorbing: stepping on
// stays put with reward 0 and terminated; the reward is 1 only on the goal.
func TestFrozenLakeHoleAndGoalAbsorbing(t *testing.T) {
	e := mustMake(t, "FrozenLake-v1", envs.Kwargs{"is_slippery": false})
	obs := make([]float64, 1)
	info := reset(t, e, 0, obs)
	if obs[0] != 0 || info["prob"] != 1.0 {
		t.Fatalf("reset obs %v info %v", obs, info)
	}
	// 0 →R 1 →D 5 (hole).
	if r, term, info := step(t, e, flRight, obs); r != 0 || term || obs[0] != 1 || info["prob"] != 1.0 {
		t.Fatalf("R: obs %v r %v term %v info %v", obs, r, term, info)
	}
	if r, term, _ := step(t, e, flDown, obs); r != 0 || !term || obs[0] != 5 {
		t.Fatalf("into hole: obs %v r %v term %v", obs, r, term)
	}
	for a := range 4 {
		if r, term, _ := step(t, e, float64(a), obs); r != 0 || !term || obs[0] != 5 {
			t.Fatalf("in hole, action %d: obs %v r %v term %v", a, obs, r, term)
		}
	}
	// 0 →D 4 →D 8 →R 9 →D 13 →R 14 →R 15 (goal).
	reset(t, e, 0, obs)
	path := []int{flDown, flDown, flRight, flDown, flRight, flRight}
	for i, a := range path {
		r, term, _ := step(t, e, float64(a), obs)
		last := i == len(path)-1
		if term != last || (r == 1) != last {
			t.Fatalf("step %d: obs %v r %v term %v", i, obs, r, term)
		}
	}
	if obs[0] != 15 {
		t.Fatalf("goal state %v", obs[0])
	}
	if r, term, _ := step(t, e, flUp, obs); r != 0 || !term || obs[0] != 15 {
		t.Fatalf("on goal: obs %v r %v term %v", obs, r, term)
	}
}

func TestFrozenLakeRender(t *testing.T) {
	e := mustMake(t, "FrozenLake-v1", envs.Kwargs{"is_slippery": false})
	obs := make([]float64, 1)
	reset(t, e, 0, obs)
	r, err := e.Render("ansi")
	if err != nil {
		t.Fatal(err)
	}
	const want0 = "\n\x1b[41mS\x1b[0mFFF\nFHFH\nFFFH\nHFFG\n"
	if r.Text != want0 {
		t.Errorf("render %q, want %q", r.Text, want0)
	}
	step(t, e, flRight, obs)
	r, _ = e.Render("ansi")
	if want := "  (Right)\nS\x1b[41mF\x1b[0mFF\nFHFH\nFFFH\nHFFG\n"; r.Text != want {
		t.Errorf("render %q, want %q", r.Text, want)
	}
	// A reset forgets the last action.
	reset(t, e, 0, obs)
	if r, _ = e.Render("ansi"); r.Text != want0 {
		t.Errorf("render after reset %q, want %q", r.Text, want0)
	}
	if _, err := e.Render("human"); err == nil {
		t.Error("human accepted")
	}
}

// FrozenLake-v1's optimum within 100 steps is 0.7442; the stationary
// no-limit-optimal policy reaches 0.7402 (reference §5.1).
func TestFrozenLakeStationaryPolicySuccess(t *testing.T) {
	policy := []int{0, 3, 3, 3, 0, 0, 0, 0, 3, 1, 0, 0, 0, 2, 1, 0}
	e := mustMake(t, "FrozenLake-v1", nil)
	obs := make([]float64, 1)
	reset(t, e, 12, obs)
	n := 20000
	if testing.Short() {
		n = 5000
	}
	wins := 0
	for range n {
		e.Reset(nil, nil, obs)
		for range 100 {
			r, term, _ := step(t, e, float64(policy[int(obs[0])]), obs)
			if term {
				if r == 1 {
					wins++
				}
				break
			}
		}
	}
	rate := float64(wins) / float64(n)
	bound := 4 * math.Sqrt(0.74*0.26/float64(n))
	if math.Abs(rate-0.7402) > bound {
		t.Errorf("success rate %.4f, want 0.7402 ± %.4f", rate, bound)
	}
	if rate > 0.7442+bound {
		t.Errorf("success rate %.4f beats the 100-step optimum 0.7442", rate)
	}
}

func TestGenerateRandomMap(t *testing.T) {
	a, err := GenerateRandomMap(8, 0.8, seedPtr(42))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateRandomMap(8, 0.8, seedPtr(42))
	c, _ := GenerateRandomMap(8, 0.8, seedPtr(43))
	if strings.Join(a, "") != strings.Join(b, "") {
		t.Error("same seed, different maps")
	}
	if strings.Join(a, "") == strings.Join(c, "") {
		t.Error("different seeds, same map")
	}
	if len(a) != 8 || a[0][0] != 'S' || a[7][7] != 'G' {
		t.Errorf("map %v", a)
	}
	board := make([][]byte, len(a))
	holes := 0
	for i, r := range a {
		board[i] = []byte(r)
		holes += strings.Count(r, "H")
	}
	if !reachable(board) {
		t.Errorf("map %v has no path", a)
	}
	if holes == 0 {
		t.Errorf("p=0.8 map without holes: %v", a)
	}
	full, _ := GenerateRandomMap(5, 1.0, seedPtr(1))
	if strings.Count(strings.Join(full, ""), "H") != 0 {
		t.Errorf("p=1 map has holes: %v", full)
	}
	// The env builds the same map from goray's map_* kwargs.
	e := mustMake(t, "FrozenLake-v1", envs.Kwargs{"map_size": int64(8), "map_p": 0.8, "map_seed": int64(42)})
	if got := e.(*FrozenLake).Map(); strings.Join(got, "") != strings.Join(a, "") {
		t.Errorf("env map %v, want %v", got, a)
	}
	if e.Spec().ObservationSpace.N != 64 {
		t.Errorf("obs space %v", e.Spec().ObservationSpace)
	}
}

// CartPole terminates when |x| > 2.4 or |θ| > 12°, with reward 1 on the
// terminating step and 0 after it.
func TestCartPoleTermination(t *testing.T) {
	cases := []struct {
		name  string
		state [4]float64
		term  bool
	}{
		{"x inside", [4]float64{2.39, 0, 0, 0}, false},
		{"x right", [4]float64{2.399, 2, 0, 0}, true},
		{"x left", [4]float64{-2.399, -2, 0, 0}, true},
		{"theta inside", [4]float64{0, 0, 0.2, 0}, false},
		{"theta right", [4]float64{0, 0, 0.2094, 2}, true},
		{"theta left", [4]float64{0, 0, -0.2094, -2}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustMake(t, "CartPole-v1", nil).(*CartPole)
			obs := make([]float64, 4)
			reset(t, e, 0, obs)
			e.state = c.state
			r, term, _ := step(t, e, 1, obs)
			if term != c.term || r != 1 {
				t.Fatalf("state %v → %v: reward %v terminated %v, want 1 %v", c.state, e.state, r, term, c.term)
			}
			if term {
				if r, term2, _ := step(t, e, 1, obs); r != 0 || !term2 {
					t.Errorf("after termination: reward %v terminated %v, want 0 true", r, term2)
				}
			}
		})
	}
}

// The env never truncates by itself: a balancing controller runs past 500
// steps without a termination; the 500-step limit lives in the spec, for
// the vector's TimeLimit.
func TestCartPoleNoTruncationInEnv(t *testing.T) {
	e := mustMake(t, "CartPole-v1", nil)
	if e.Spec().MaxEpisodeSteps != 500 {
		t.Fatalf("MaxEpisodeSteps %d", e.Spec().MaxEpisodeSteps)
	}
	obs := make([]float64, 4)
	reset(t, e, 7, obs)
	for i := range 600 {
		a := 0.0
		if obs[2]+0.5*obs[3]+0.01*obs[0]+0.1*obs[1] > 0 {
			a = 1
		}
		r, term, _ := step(t, e, a, obs)
		if term || r != 1 {
			t.Fatalf("step %d: terminated %v reward %v obs %v", i, term, r, obs)
		}
	}
}

func TestCartPoleSuttonBarto(t *testing.T) {
	e := mustMake(t, "CartPole-v1", envs.Kwargs{"sutton_barto_reward": true}).(*CartPole)
	obs := make([]float64, 4)
	reset(t, e, 0, obs)
	if r, _, _ := step(t, e, 1, obs); r != 0 {
		t.Errorf("non-terminal reward %v, want 0", r)
	}
	e.state = [4]float64{2.399, 1, 0, 0}
	if r, term, _ := step(t, e, 1, obs); r != -1 || !term {
		t.Errorf("terminal reward %v term %v, want -1 true", r, term)
	}
}

// A uniform-random policy lasts about 22.2 steps on CartPole-v1
// (reference §5.2).
func TestCartPoleRandomPolicyLength(t *testing.T) {
	e := mustMake(t, "CartPole-v1", nil)
	smp, _ := NewSampler(e.Spec().ActionSpace, 1)
	obs, act := make([]float64, 4), make([]float64, 1)
	reset(t, e, 99, obs)
	n := 4000
	total := 0
	for range n {
		e.Reset(nil, nil, obs)
		for l := 1; l <= 500; l++ {
			smp.Sample(act)
			_, term, _, _ := e.Step(act, obs)
			if term {
				total += l
				break
			}
		}
	}
	// The length's standard deviation is about 12, so 4000 episodes give a
	// standard error near 0.2.
	if mean := float64(total) / float64(n); math.Abs(mean-22.2) > 1.0 {
		t.Errorf("mean random episode length %.2f, want 22.2 ± 1", mean)
	}
}

// Continuous actions are clipped for the dynamics.
func TestContinuousActionClipping(t *testing.T) {
	for _, c := range []struct {
		id        string
		big, edge float64
		rawReward bool
	}{
		{"Pendulum-v1", 5, 2, false},
		{"MountainCarContinuous-v0", 3, 1, true},
	} {
		run := func(a float64) ([]float64, float64) {
			e := mustMake(t, c.id, nil)
			obs := make([]float64, e.Spec().ObservationSpace.FlatDim())
			reset(t, e, 4, obs)
			r, _, _ := step(t, e, a, obs)
			return obs, r
		}
		o1, r1 := run(c.big)
		o2, r2 := run(c.edge)
		o3, r3 := run(-c.big)
		o4, _ := run(-c.edge)
		if !slices.Equal(o1, o2) || !slices.Equal(o3, o4) {
			t.Errorf("%s: clipped and edge actions give %v/%v and %v/%v", c.id, o1, o2, o3, o4)
		}
		if c.rawReward {
			// MountainCarContinuous charges the raw action: -0.1·a².
			if math.Abs((r1-r2)-(-0.1*(c.big*c.big-c.edge*c.edge))) > 1e-12 || r1 != r3 {
				t.Errorf("%s: rewards %v %v %v", c.id, r1, r2, r3)
			}
		} else if r1 != r2 {
			t.Errorf("%s: reward uses the unclipped torque: %v vs %v", c.id, r1, r2)
		}
	}
}

func TestMountainCarReachesGoal(t *testing.T) {
	e := mustMake(t, "MountainCar-v0", nil)
	obs := make([]float64, 2)
	reset(t, e, 0, obs)
	for i := range 1000 {
		a := 0.0
		if obs[1] >= 0 {
			a = 2
		}
		r, term, _ := step(t, e, a, obs)
		if r != -1 {
			t.Fatalf("reward %v", r)
		}
		if term {
			if obs[0] < 0.5 {
				t.Fatalf("terminated at %v", obs)
			}
			return
		}
		if i > 300 {
			break
		}
	}
	t.Fatal("energy-pumping policy never reached the goal")
}

func TestPendulumCostRange(t *testing.T) {
	e := mustMake(t, "Pendulum-v1", nil)
	obs := make([]float64, 3)
	reset(t, e, 5, obs)
	smp, _ := NewSampler(e.Spec().ActionSpace, 5)
	act := make([]float64, 1)
	for range 500 {
		smp.Sample(act)
		r, term, _ := step(t, e, act[0], obs)
		if term || r > 0 || r < -16.2736044 {
			t.Fatalf("reward %v terminated %v", r, term)
		}
		if math.Abs(obs[0]*obs[0]+obs[1]*obs[1]-1) > 1e-6 || math.Abs(obs[2]) > 8 {
			t.Fatalf("obs %v", obs)
		}
	}
}

func TestAcrobotRewards(t *testing.T) {
	e := mustMake(t, "Acrobot-v1", nil)
	obs := make([]float64, 6)
	reset(t, e, 1, obs)
	// Pump energy by torquing along the second joint's velocity.
	for range 500 {
		a := 0.0
		if obs[5] > 0 {
			a = 2
		}
		r, term, _ := step(t, e, a, obs)
		if term {
			if r != 0 {
				t.Fatalf("terminal reward %v, want 0", r)
			}
			return
		}
		if r != -1 {
			t.Fatalf("reward %v, want -1", r)
		}
	}
	t.Fatal("energy-pumping policy never swung up")
}

func TestCliffWalking(t *testing.T) {
	e := mustMake(t, "CliffWalking-v1", nil)
	obs := make([]float64, 1)
	info := reset(t, e, 0, obs)
	if obs[0] != 36 || info["prob"] != 1.0 {
		t.Fatalf("reset %v %v", obs, info)
	}
	// RIGHT from the start falls off the cliff: −100, back to start.
	if r, term, info := step(t, e, 1, obs); r != -100 || term || obs[0] != 36 || info["prob"] != 1.0 {
		t.Fatalf("cliff: r %v term %v obs %v info %v", r, term, obs, info)
	}
	// UP, 11×RIGHT, DOWN reaches the goal with −1 per step.
	actions := []int{0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}
	for i, a := range actions {
		r, term, _ := step(t, e, float64(a), obs)
		if r != -1 || term != (i == len(actions)-1) {
			t.Fatalf("step %d: r %v term %v obs %v", i, r, term, obs)
		}
	}
	if obs[0] != 47 {
		t.Fatalf("final state %v", obs[0])
	}
	r, _ := e.Render("ansi")
	if !strings.HasPrefix(r.Text, "o  o  o") || !strings.Contains(r.Text, "C  C") || !strings.HasSuffix(r.Text, " x\n\n") {
		t.Errorf("render %q", r.Text)
	}
	// Slippery: three outcomes with probability 1/3, never backwards.
	s := mustMake(t, "CliffWalkingSlippery-v1", nil)
	reset(t, s, 0, obs)
	seen := map[float64]bool{}
	for range 300 {
		s.Reset(nil, nil, obs)
		step(t, s, 0, obs) // UP from 36: LEFT (stay), UP (24), RIGHT (cliff → 36)
		seen[obs[0]] = true
	}
	if len(seen) != 2 || !seen[36] || !seen[24] {
		t.Errorf("slippery outcomes %v", seen)
	}
}

func TestTaxi(t *testing.T) {
	e := mustMake(t, "Taxi-v4", nil).(*Taxi)
	obs := make([]float64, 1)
	info := reset(t, e, 0, obs)
	row, col, pass, dest := taxiDecode(int(obs[0]))
	if pass == 4 || pass == dest || row > 4 || col > 4 {
		t.Fatalf("bad start %d %d %d %d", row, col, pass, dest)
	}
	if len(info["action_mask"].([]int64)) != 6 || info["prob"] != 1.0 {
		t.Fatalf("reset info %v", info)
	}
	// Taxi at R with the passenger there, destination G.
	e.s = taxiEncode(0, 0, 0, 1)
	mask := e.actionMask(e.s, make([]int64, 6))
	if want := []int64{1, 0, 1, 0, 1, 0}; !slices.Equal(mask, want) {
		t.Errorf("mask at R %v, want %v", mask, want)
	}
	if r, term, _ := step(t, e, 5, obs); r != -10 || term {
		t.Errorf("illegal dropoff: %v %v", r, term)
	}
	if r, term, info := step(t, e, 4, obs); r != -1 || term || int(obs[0]) != taxiEncode(0, 0, 4, 1) {
		t.Errorf("pickup: %v %v %v", r, term, obs)
	} else if m := info["action_mask"].([]int64); m[5] != 1 || m[4] != 0 {
		t.Errorf("mask after pickup %v", m)
	}
	if r, _, _ := step(t, e, 4, obs); r != -10 {
		t.Errorf("second pickup reward %v", r)
	}
	// Wall between columns 1 and 2 in row 0: east from (0,1) is a no-op.
	e.s = taxiEncode(0, 1, 4, 1)
	if r, _, _ := step(t, e, 2, obs); r != -1 || int(obs[0]) != e.s || int(obs[0]) != taxiEncode(0, 1, 4, 1) {
		t.Errorf("wall: %v %v", r, obs)
	}
	// Drop-off at a different landmark leaves the passenger there.
	e.s = taxiEncode(4, 0, 4, 1)
	if r, term, _ := step(t, e, 5, obs); r != -1 || term || int(obs[0]) != taxiEncode(4, 0, 2, 1) {
		t.Errorf("wrong-landmark dropoff: %v %v %v", r, term, obs)
	}
	// Delivery at the destination: +20 and terminated.
	e.s = taxiEncode(0, 4, 4, 1)
	if r, term, _ := step(t, e, 5, obs); r != 20 || !term || int(obs[0]) != taxiEncode(0, 4, 1, 1) {
		t.Errorf("delivery: %v %v %v", r, term, obs)
	}
	r, _ := e.Render("ansi")
	if !strings.HasPrefix(r.Text, "+---------+\n") || !strings.HasSuffix(r.Text, "  (Dropoff)\n") {
		t.Errorf("render %q", r.Text)
	}
	// 300 start states, uniformly.
	starts := map[int]bool{}
	for range 6000 {
		e.Reset(nil, nil, obs)
		starts[int(obs[0])] = true
	}
	if len(starts) != 300 {
		t.Errorf("%d distinct start states, want 300", len(starts))
	}
}

func TestTaxiRainyAndFickle(t *testing.T) {
	e := mustMake(t, "Taxi-v4", envs.Kwargs{"is_rainy": true}).(*Taxi)
	obs := make([]float64, 1)
	reset(t, e, 0, obs)
	counts := map[int]int{}
	n := 20000
	for range n {
		e.s = taxiEncode(2, 2, 0, 1)
		_, _, info := step(t, e, 1, obs) // north from the open centre
		counts[int(obs[0])]++
		if p := info["prob"].(float64); p != 0.8 && math.Abs(p-0.1) > 1e-15 {
			t.Fatalf("prob %v", p)
		}
	}
	if f := float64(counts[taxiEncode(1, 2, 0, 1)]) / float64(n); math.Abs(f-0.8) > 0.015 {
		t.Errorf("intended move frequency %.3f", f)
	}
	for _, lat := range []int{taxiEncode(2, 1, 0, 1), taxiEncode(2, 3, 0, 1)} {
		if f := float64(counts[lat]) / float64(n); math.Abs(f-0.1) > 0.012 {
			t.Errorf("lateral frequency %.3f", f)
		}
	}
	f := mustMake(t, "Taxi-v4", envs.Kwargs{"fickle_passenger": true, "fickle_probability": 1.0}).(*Taxi)
	reset(t, f, 0, obs)
	f.s = taxiEncode(0, 0, 4, 1)
	step(t, f, 0, obs) // first move with the passenger aboard
	if _, _, p, d := taxiDecode(int(obs[0])); p != 4 || d == 1 {
		t.Errorf("fickle passenger kept destination: pass %d dest %d", p, d)
	}
}

func TestBlackjackRules(t *testing.T) {
	e := mustMake(t, "Blackjack-v1", nil).(*Blackjack)
	obs := make([]float64, 3)
	reset(t, e, 0, obs)
	stick := func(player, dealer []int) float64 {
		e.player, e.dealer = append([]int(nil), player...), append([]int(nil), dealer...)
		r, term, _ := step(t, e, 0, obs)
		if !term {
			t.Fatal("stick did not terminate")
		}
		return r
	}
	if r := stick([]int{10, 10}, []int{10, 9}); r != 1 {
		t.Errorf("20 vs 19: %v", r)
	}
	if r := stick([]int{10, 8}, []int{10, 9}); r != -1 {
		t.Errorf("18 vs 19: %v", r)
	}
	if r := stick([]int{10, 9}, []int{10, 9}); r != 0 {
		t.Errorf("19 vs 19: %v", r)
	}
	if r := stick([]int{1, 10}, []int{10, 5, 6}); r != 1 {
		t.Errorf("natural vs 21 (sab): %v", r)
	}
	if r := stick([]int{1, 10}, []int{10, 1}); r != 0 {
		t.Errorf("natural vs natural: %v", r)
	}
	// Soft hands: ace counts 11 when it does not bust.
	e.player = []int{1, 6}
	e.writeObs(obs)
	if obs[0] != 17 || obs[2] != 1 {
		t.Errorf("soft 17 obs %v", obs)
	}
	nat := mustMake(t, "Blackjack-v1", envs.Kwargs{"sab": false, "natural": true}).(*Blackjack)
	reset(t, nat, 0, obs)
	nat.player, nat.dealer = []int{1, 10}, []int{10, 8}
	if r, _, _ := step(t, nat, 0, obs); r != 1.5 {
		t.Errorf("paid natural %v, want 1.5", r)
	}
	// Hitting to bust: −1 and terminated.
	reset(t, e, 0, obs)
	e.player = []int{10, 10, 1}
	for {
		r, term, _ := step(t, e, 1, obs)
		if term {
			if r != -1 || sumHand(e.player) <= 21 {
				t.Errorf("bust: reward %v hand %v", r, e.player)
			}
			break
		}
		if r != 0 {
			t.Fatalf("hit reward %v", r)
		}
	}
}

func TestBlackjackReturnRange(t *testing.T) {
	e := mustMake(t, "Blackjack-v1", nil)
	smp, _ := NewSampler(e.Spec().ActionSpace, 3)
	obs, act := make([]float64, 3), make([]float64, 1)
	reset(t, e, 3, obs)
	total := 0.0
	n := 20000
	for range n {
		e.Reset(nil, nil, obs)
		for {
			if obs[0] < 4 || obs[0] > 31 || obs[1] < 1 || obs[1] > 10 {
				t.Fatalf("obs %v", obs)
			}
			smp.Sample(act)
			r, term, _, _ := e.Step(act, obs)
			if term {
				total += r
				break
			}
		}
	}
	// A random policy loses about 0.4 per hand.
	if mean := total / float64(n); mean > -0.3 || mean < -0.5 {
		t.Errorf("random policy mean return %.3f", mean)
	}
}

func TestRenderRGB(t *testing.T) {
	for _, id := range []string{"CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1", "Acrobot-v1"} {
		e := mustMake(t, id, nil)
		obs := make([]float64, e.Spec().ObservationSpace.FlatDim())
		reset(t, e, 0, obs)
		r, err := e.Render("rgb_array")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.RGB) != r.Width*r.Height*3 || r.Width == 0 {
			t.Fatalf("%s: %dx%d with %d bytes", id, r.Width, r.Height, len(r.RGB))
		}
		dark := 0
		for i := 0; i < len(r.RGB); i += 3 {
			if r.RGB[i] < 128 || r.RGB[i+1] < 128 || r.RGB[i+2] < 128 {
				dark++
			}
		}
		if dark == 0 || dark > len(r.RGB)/3/2 {
			t.Errorf("%s: %d of %d pixels drawn", id, dark, len(r.RGB)/3)
		}
		if _, err := e.Render("ansi"); err == nil {
			t.Errorf("%s: ansi accepted", id)
		}
	}
}

func TestFrozenLakeMapIsACopy(t *testing.T) {
	m, ok := FrozenLakeMap("4x4")
	if !ok || !slices.Equal(m, []string{"SFFF", "FHFH", "FFFH", "HFFG"}) {
		t.Fatalf("4x4 = %q, %v", m, ok)
	}
	m[0] = "HHHH"
	if again, _ := FrozenLakeMap("4x4"); again[0] != "SFFF" {
		t.Fatalf("changing a returned map changed the env's map: %q", again)
	}
	if _, ok := FrozenLakeMap("5x5"); ok {
		t.Fatal("unknown map name accepted")
	}
}
