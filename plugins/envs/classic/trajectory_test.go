package classic

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/goray/goray/plugins/envs"
)

// refStep is one line of testdata/reference_trajectories.txt.
type refStep struct {
	action int
	vals   []float64
}

func loadReference(t *testing.T) map[string][]refStep {
	t.Helper()
	f, err := os.Open("testdata/reference_trajectories.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]refStep{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		env := fields[0]
		rest := fields[2:]
		st := refStep{action: -1}
		if env != "pendulum" {
			a, _ := strconv.Atoi(rest[0])
			st.action = a
			rest = rest[1:]
		}
		for _, h := range rest {
			u, err := strconv.ParseUint(h, 16, 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			st.vals = append(st.vals, math.Float64frombits(u))
		}
		out[env] = append(out[env], st)
	}
	return out
}

// checkTrajectory requires the policy's actions and the float64 states
// (and Pendulum's rewards) to match the reference bit for bit.
func checkTrajectory(t *testing.T, name string, ref []refStep, got func(i int) (int, []float64)) {
	t.Helper()
	if len(ref) == 0 {
		t.Fatalf("%s: no reference steps", name)
	}
	for i, r := range ref {
		a, vals := got(i)
		if r.action >= 0 && a != r.action {
			t.Fatalf("%s step %d: action %d, reference %d", name, i, a, r.action)
		}
		for j, v := range vals {
			if math.Float64bits(v) != math.Float64bits(r.vals[j]) {
				t.Fatalf("%s step %d value %d: %v, reference %v", name, i, j, v, r.vals[j])
			}
		}
	}
}

func TestReferenceTrajectories(t *testing.T) {
	ref := loadReference(t)
	seed := int64(2024)

	t.Run("CartPole", func(t *testing.T) {
		e := mustMake(t, "CartPole-v1", nil).(*CartPole)
		obs := make([]float64, 4)
		if _, err := e.Reset(&seed, nil, obs); err != nil {
			t.Fatal(err)
		}
		checkTrajectory(t, "CartPole", ref["cartpole"], func(int) (int, []float64) {
			s := obs[2] + float64(0.5*obs[3])
			s = s + float64(0.01*obs[0])
			s = s + float64(0.1*obs[1])
			a := 0
			if s > 0 {
				a = 1
			}
			e.Step([]float64{float64(a)}, obs)
			st := e.State()
			return a, st[:]
		})
	})
	t.Run("MountainCar", func(t *testing.T) {
		e := mustMake(t, "MountainCar-v0", nil).(*MountainCar)
		obs := make([]float64, 2)
		e.Reset(&seed, nil, obs)
		checkTrajectory(t, "MountainCar", ref["mountaincar"], func(int) (int, []float64) {
			a := 0
			if obs[1] >= 0 {
				a = 2
			}
			e.Step([]float64{float64(a)}, obs)
			return a, []float64{e.pos, e.vel}
		})
	})
	t.Run("Pendulum", func(t *testing.T) {
		e := mustMake(t, "Pendulum-v1", nil).(*Pendulum)
		obs := make([]float64, 3)
		e.Reset(&seed, nil, obs)
		us := []float64{2, -1.5, 0.25, -2, 1}
		checkTrajectory(t, "Pendulum", ref["pendulum"], func(i int) (int, []float64) {
			r, _, _, _ := e.Step([]float64{us[i%5]}, obs)
			return -1, []float64{e.th, e.thDot, r}
		})
	})
	t.Run("Acrobot", func(t *testing.T) {
		e := mustMake(t, "Acrobot-v1", nil).(*Acrobot)
		obs := make([]float64, 6)
		e.Reset(&seed, nil, obs)
		checkTrajectory(t, "Acrobot", ref["acrobot"], func(int) (int, []float64) {
			a := 0
			if obs[5] > 0 {
				a = 2
			}
			e.Step([]float64{float64(a)}, obs)
			return a, e.s[:]
		})
	})
}

var _ envs.Env = (*CartPole)(nil)
