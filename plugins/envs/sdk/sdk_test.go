package sdk_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/goray/goray/plugins/envs"
	"github.com/goray/goray/plugins/envs/sdk"
)

const serveEnv = "GORAY_SDK_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		sdk.Serve(map[string]envs.Factory{})
	}
	os.Exit(m.Run())
}

// TestServeRunDirectly: a plugin binary started by hand (no goray host, so
// no magic cookie) explains itself and exits 1 without serving.
func TestServeRunDirectly(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1", err)
	}
	if len(out) != 0 || !strings.Contains(stderr.String(), "This binary is a plugin") {
		t.Fatalf("stdout %q stderr %q", out, stderr.String())
	}
}
