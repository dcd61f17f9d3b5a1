package agent_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goray/goray/runtime/agent"
)

// The binary cache is shared by default, per daemon under data_dir when
// relative, and where it is told when absolute; the TCP driver address is
// off by default and must be host:port.
func TestBinaryCacheAndDriverKeys(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		wantBin string
		wantTCP string
	}{
		{"defaults", nil, "", ""},
		{"relative cache", []string{"-worker.binary_cache_dir", "bin"}, filepath.Join(data, "bin"), ""},
		{"absolute cache", []string{"-worker.binary_cache_dir", "/srv/bin"}, "/srv/bin", ""},
		{"from the file", []string{"-config", writeFile(t, "[worker]\nbinary_cache_dir = \"cache\"\n[driver]\ntcp_addr = \"0.0.0.0:7948\"\n")},
			filepath.Join(data, "cache"), "0.0.0.0:7948"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(append([]string{"-resources.gpu", "0", "-data_dir", data}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Worker.BinaryCacheDir != tc.wantBin || cfg.Driver.TCPAddr != tc.wantTCP {
				t.Fatalf("binary_cache_dir %q, driver.tcp_addr %q; want %q, %q", cfg.Worker.BinaryCacheDir, cfg.Driver.TCPAddr, tc.wantBin, tc.wantTCP)
			}
		})
	}
	_, err := load("-resources.gpu", "0", "-data_dir", data, "-driver.tcp_addr", "no-port")
	if !errors.Is(err, agent.ErrInvalidConfig) || !strings.Contains(err.Error(), "driver.tcp_addr") {
		t.Fatalf("bad driver.tcp_addr: %v", err)
	}
}
