package envplugin_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/envplugin"
)

func TestMain(m *testing.M) {
	envplugin.ServeBuiltinIfRequested()
	os.Exit(m.Run())
}

// TestBuiltinPluginHook makes built-in envs through the real hook: this
// test binary re-executed with GORAY_ENV_PLUGIN=builtin.
func TestBuiltinPluginHook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, err := envplugin.NewRegistry(envs.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := reg.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range specs {
		if s.Plugin != envs.BuiltinPluginName {
			t.Errorf("%s comes from %q, want %q", s.ID, s.Plugin, envs.BuiltinPluginName)
		}
		ids = append(ids, s.ID)
	}
	for _, want := range []string{"CartPole-v1", "FrozenLake-v1", "Taxi-v4", "Blackjack-v1"} {
		if !slices.Contains(ids, want) {
			t.Errorf("List lacks %s: %v", want, ids)
		}
	}
	cfg := envs.VectorConfig{ID: "FrozenLake-v1", NumEnvs: 2, Kwargs: envs.Kwargs{"is_slippery": false}}
	sub, err := reg.Make(ctx, cfg, envs.MakeOptions{Subprocess: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	in, err := reg.Make(ctx, cfg, envs.MakeOptions{InProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	def, err := reg.Make(ctx, cfg, envs.MakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	if pv, ok := def.(*envs.PluginVector); !ok || pv.Transport() != envs.TransportShm {
		t.Fatalf("default Make of a built-in env made %T, want the built-in plugin over %s", def, envs.TransportShm)
	}
	if _, ok := in.(*envs.PluginVector); ok {
		t.Fatal("MakeOptions.InProcess made the plugin vector")
	}
	// RIGHT, RIGHT, DOWN, DOWN, DOWN, RIGHT reaches the goal of the 4x4 map
	// without slipping; both paths must agree step by step.
	for _, v := range []envs.VectorEnv{sub, in} {
		if _, err := v.Reset(ctx, envs.SeedsFrom(0, 2), nil); err != nil {
			t.Fatal(err)
		}
		var last *envs.Batch
		for _, a := range []float64{2, 2, 1, 1, 1, 2} {
			if last, err = v.Step(ctx, []float64{a, a}); err != nil {
				t.Fatal(err)
			}
		}
		if last.Obs[0] != 15 || last.Rewards[0] != 1 || !last.Terminated[0] {
			t.Fatalf("%T: final obs %v reward %v terminated %v; want the goal", v, last.Obs, last.Rewards, last.Terminated)
		}
		r, err := v.Render(ctx, 0, "ansi")
		if err != nil || r.Text == "" {
			t.Fatalf("%T render: %q %v", v, r.Text, err)
		}
	}
	if _, ok := sub.(envs.Restarter); !ok {
		t.Fatalf("the subprocess vector %T does not implement Restarter", sub)
	}
}

func TestRequested(t *testing.T) {
	if envplugin.Requested() {
		t.Fatal("Requested() in a normal test process")
	}
	t.Setenv(envs.BuiltinModeEnv, "builtin")
	if !envplugin.Requested() {
		t.Fatal("Requested() false with GORAY_ENV_PLUGIN=builtin")
	}
}
