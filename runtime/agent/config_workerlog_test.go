package agent_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/goray/goray/runtime/agent"
)

// The worker log rotation keys default to Ray's values, are set from the
// file or flags, and reject nonsense with the key's name (and the file's
// line when it came from the file).
func TestWorkerLogRotationKeys(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		size    agent.ByteSize
		backups int
	}{
		{"defaults", nil, 512 << 20, 5},
		{"flags", []string{"-worker.log_max_size", "64MiB", "-worker.log_backups", "2"}, 64 << 20, 2},
		{"keep none", []string{"-worker.log_backups", "-1"}, 512 << 20, -1},
		{"from the file", []string{"-config", writeFile(t, "[worker]\nlog_max_size = \"1GiB\"\nlog_backups = 9\n")}, 1 << 30, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(append([]string{"-resources.gpu", "0", "-data_dir", data}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Worker.LogMaxSize != tc.size || cfg.Worker.LogBackups != tc.backups {
				t.Fatalf("log_max_size %d, log_backups %d; want %d, %d", cfg.Worker.LogMaxSize, cfg.Worker.LogBackups, tc.size, tc.backups)
			}
		})
	}
	for _, tc := range []struct {
		name, key string
		args      []string
		wantLine  string
	}{
		{"negative size", "worker.log_max_size", []string{"-worker.log_max_size", "-5"}, ""},
		{"backups below -1", "worker.log_backups", []string{"-worker.log_backups", "-2"}, ""},
		{"in the file", "worker.log_backups", []string{"-config", writeFile(t, "[worker]\n\nlog_backups = -3\n")}, ":3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(append([]string{"-resources.gpu", "0", "-data_dir", data}, tc.args...)...)
			var fe *agent.FieldError
			if !errors.Is(err, agent.ErrInvalidConfig) || !errors.As(err, &fe) || fe.Key != tc.key {
				t.Fatalf("got %v, want a FieldError for %s", err, tc.key)
			}
			if tc.wantLine != "" && !strings.Contains(err.Error(), tc.wantLine) {
				t.Fatalf("error %q does not name the file's line %s", err, tc.wantLine)
			}
		})
	}
	if _, err := load("-resources.gpu", "0", "-data_dir", data, "-config", writeFile(t, "[worker]\nlog_max_sizes = 1\n")); !errors.Is(err, agent.ErrInvalidConfig) {
		t.Fatalf("unknown key: %v", err)
	}
}
