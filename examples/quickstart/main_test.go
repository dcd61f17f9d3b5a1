package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestQuickstart runs the README's example as a real program.
func TestQuickstart(t *testing.T) {
	bin := t.TempDir() + "/quickstart"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "GORAY_ADDRESS=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	if got := strings.TrimSpace(out.String()); got != "285" {
		t.Fatalf("output %q, want 285", got)
	}
}
