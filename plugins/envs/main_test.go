package envs_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/classic"
	"github.com/goray/goray/plugins/envs/internal/testenv"
	"github.com/goray/goray/plugins/envs/sdk"
)

// testModeEnv re-executes this test binary in a helper role: as an env
// plugin of some kind, or as a host process for the orphan test.
const testModeEnv = "GORAY_ENVTEST_MODE"

func TestMain(m *testing.M) {
	switch mode := os.Getenv(testModeEnv); {
	case mode == "nohook" && os.Getenv(envs.BuiltinModeEnv) != "":
		// A program that never calls ServeBuiltinIfRequested: it just does
		// its own thing.
		fmt.Println("hello from a program without the plugin hook")
		os.Exit(0)
	case os.Getenv(envs.BuiltinModeEnv) == "builtin":
		// Stands in for envplugin.ServeBuiltinIfRequested, with the test
		// envs added.
		sdk.Serve(testFactories())
	case mode == "user":
		sdk.Serve(map[string]envs.Factory{"UserCounter-v0": testenv.NewCounter})
	case mode == "spawner":
		// A plugin with a child process of its own, which must die with the
		// plugin's process group.
		child := exec.Command("sleep", "60")
		if err := child.Start(); err != nil {
			os.Exit(5)
		}
		if err := os.WriteFile(os.Getenv("GORAY_ENVTEST_CHILDPID"), []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
			os.Exit(5)
		}
		sdk.Serve(testenv.Factories())
	case mode == "old":
		serveOldPlugin()
	case mode == "v2":
		sdk.Serve(testenv.Factories(), sdk.WithProtocolVersion(2))
	case mode == "host":
		os.Exit(runHost())
	}
	os.Exit(m.Run())
}

// runHost launches a built-in plugin vector, prints its PID and waits to be
// killed (or gives up after a minute so that nothing leaks).
func runHost() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	v, err := envs.MakePluginVector(ctx, builtinBin(exe), envs.VectorConfig{ID: "Counter-v0", NumEnvs: 1}, envs.HostOptions{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if _, err := v.Reset(ctx, []int64{1}, nil); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("plugin", v.PID())
	<-ctx.Done()
	v.Close()
	return 0
}

// testFactories are the envs of the test binary's built-in plugin: the
// classic envs and the test envs.
func testFactories() map[string]envs.Factory {
	m := classic.Factories()
	for id, f := range testenv.Factories() {
		m[id] = f
	}
	return m
}

func builtinBin(exe string) envs.PluginBinary {
	return envs.PluginBinary{Name: "testbuiltin", Path: exe, Env: []string{envs.BuiltinModeEnv + "=builtin"}, Builtin: true}
}
