package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/goray/goray/runtime/agent"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gorayd.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(args ...string) (agent.Config, error) {
	return agent.LoadConfig(context.Background(), "gorayd", args, io.Discard)
}

func TestWorkerKeysFromFileAndFlags(t *testing.T) {
	path := writeFile(t, "[worker]\ncommand = [\"/opt/bin/worker\", \"-v\"]\nmax_workers = 7\n")
	cfg, err := load("-resources.gpu", "0", "-config", path, "-worker.prestart", "-1")
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Worker
	if len(w.Command) != 2 || w.Command[0] != "/opt/bin/worker" || w.Command[1] != "-v" || w.MaxWorkers != 7 || w.Prestart != -1 {
		t.Fatalf("worker config %+v", w)
	}
	cfg, err = load("-resources.gpu", "0", "-worker.command", "/bin/w", "-worker.command", "arg")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Worker.Command, " ") != "/bin/w arg" || cfg.Worker.Prestart != 0 {
		t.Fatalf("worker flags %+v", cfg.Worker)
	}
}

func TestLoadConfigDevDefaults(t *testing.T) {
	cfg, err := load("-dev", "-resources.gpu", "0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName != "dev" || cfg.Gossip.BindAddr != "127.0.0.1" || cfg.RPC.BindAddr != "127.0.0.1" || cfg.HTTP.BindAddr != "127.0.0.1" {
		t.Fatalf("dev mode must bind loopback: %+v", cfg)
	}
	if cfg.Resources.CPU != float64(goruntime.NumCPU()) {
		t.Fatalf("CPU = %v, want NumCPU %d", cfg.Resources.CPU, goruntime.NumCPU())
	}
	if cfg.Gossip.Preset != "lan" || cfg.Gossip.Port != agent.DefaultGossipPort || cfg.HTTP.Port != agent.DefaultHTTPPort {
		t.Fatalf("defaults: %+v", cfg)
	}
	if cfg.ObjectStore.SpillDir != filepath.Join(cfg.DataDir, "spill") {
		t.Fatalf("spill dir %q not under data dir %q", cfg.ObjectStore.SpillDir, cfg.DataDir)
	}
	// Dev mode binds elsewhere only when told to.
	cfg, err = load("-dev", "-http.bind_addr", "0.0.0.0", "-resources.gpu", "0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.BindAddr != "0.0.0.0" || cfg.Gossip.BindAddr != "127.0.0.1" {
		t.Fatalf("explicit bind: %+v", cfg)
	}
	cfg, err = load("-resources.gpu", "0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Gossip.BindAddr != "0.0.0.0" {
		t.Fatalf("non-dev default bind %q, want 0.0.0.0", cfg.Gossip.BindAddr)
	}
}

func TestLoadConfigFileThenFlags(t *testing.T) {
	path := writeFile(t, `
node_name = "gpu-box"
join = ["10.0.0.1", "10.0.0.2:8000"]

[gossip]
preset = "fast"
encrypt_key = "AAAAAAAAAAAAAAAAAAAAAA=="

[resources]
cpu = 8
gpu = 1
memory = "16GiB"
[resources.custom]
"accelerator_type:H200" = 1

[object_store]
memory = 2147483648

[log]
format = "json"
`)
	cfg, err := load("-config", path, "-resources.cpu", "4", "-resources.custom", "disk=2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName != "gpu-box" || cfg.Gossip.Preset != "fast" || cfg.Log.Format != "json" {
		t.Fatalf("file values lost: %+v", cfg)
	}
	if cfg.Resources.CPU != 4 {
		t.Fatalf("flag must override file: CPU %v", cfg.Resources.CPU)
	}
	if cfg.Resources.Memory != 16<<30 || cfg.ObjectStore.Memory != 2<<30 {
		t.Fatalf("sizes: memory %d object store %d", cfg.Resources.Memory, cfg.ObjectStore.Memory)
	}
	got := cfg.TotalResources()
	want := map[string]float64{"CPU": 4, "GPU": 1, "memory": 16 << 30, "object_store_memory": 2 << 30, "accelerator_type:H200": 1, "disk": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("TotalResources = %v, want %v", got, want)
	}
	if j := cfg.JoinAddrs(); len(j) != 2 || j[0] != "10.0.0.1:7946" || j[1] != "10.0.0.2:8000" {
		t.Fatalf("JoinAddrs = %v", j)
	}
	if k, err := cfg.EncryptKeyBytes(); err != nil || len(k) != 16 {
		t.Fatalf("key: %v %v", k, err)
	}
	// --config=path works too.
	if _, err := load("--config=" + path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	many := "[resources.custom]\n"
	for i := range 40 {
		many += fmt.Sprintf("\"accelerator_type:custom-device-%02d\" = 1\n", i)
	}
	tests := []struct {
		name string
		file string // written to a temp file and passed with -config
		args []string
		want []string // substrings; "FILE" is replaced by the path
	}{
		{name: "unknown top-level key", file: "node_name = \"a\"\nnod_name = \"b\"\n", want: []string{"FILE:2: nod_name: unknown key"}},
		{name: "unknown key in table", file: "[rpc]\nport = 1\n\n  tls_cert = \"x\"\n", want: []string{"FILE:4: rpc.tls_cert: unknown key"}},
		{name: "unknown table", file: "[gosip]\nport = 1\n", want: []string{"FILE:2: gosip.port: unknown key"}},
		{name: "wrong type", file: "[gossip]\nport = \"many\"\n", want: []string{"FILE:2:", "port"}},
		{name: "syntax error", file: "node_name = \n", want: []string{"FILE:1:"}},
		{name: "negative cpu in file", file: "\n[resources]\ncpu = -2\n", want: []string{"FILE:3: resources.cpu: -2"}},
		{name: "negative custom", file: "[resources.custom]\nfoo = -1\n", want: []string{"resources.custom.foo: -1"}},
		{name: "standard name as custom", args: []string{"-resources.custom", "CPU=3"}, want: []string{`"CPU" is a standard resource`}},
		{name: "too many custom resources", file: many, want: []string{"node metadata too large", "limit 512"}},
		{name: "short key", args: []string{"-gossip.encrypt_key", "c2hvcnQ="}, want: []string{"gossip.encrypt_key", "5 bytes"}},
		{name: "tls cert without key", args: []string{"-rpc.tls_cert_file", "/etc/hostname"}, want: []string{"tls_cert_file and tls_key_file"}},
		{name: "tls file missing", args: []string{"-rpc.tls_cert_file", "/nonexistent.pem", "-rpc.tls_key_file", "/nonexistent.key"}, want: []string{"rpc.tls_cert_file", "no such file"}},
		{name: "bad join", args: []string{"-join", "10.0.0.1:notaport"}, want: []string{"join", "notaport"}},
		{name: "bad bind", args: []string{"-gossip.bind_addr", "example.com"}, want: []string{"gossip.bind_addr", "not an IP"}},
		{name: "bad port", args: []string{"-http.port", "99999"}, want: []string{"http.port", "99999"}},
		{name: "bad size", args: []string{"-resources.memory", "lots"}, want: []string{"resources.memory", "lots"}},
		{name: "bad log level", args: []string{"-log.level", "loud"}, want: []string{"log.level", "loud"}},
		{name: "bad custom flag", args: []string{"-resources.custom", "nothing"}, want: []string{"name=amount"}},
		{name: "dev with join", args: []string{"-dev", "-join", "10.0.0.1"}, want: []string{"join: not allowed with dev mode"}},
		{name: "stray argument", args: []string{"extra"}, want: []string{"unexpected arguments"}},
		{name: "negative max workers", file: "[worker]\nmax_workers = -3\n", want: []string{"FILE:2: worker.max_workers: -3"}},
		{name: "bad prestart", args: []string{"-worker.prestart", "-2"}, want: []string{"worker.prestart", "-2"}},
		{name: "empty worker program", file: "[worker]\ncommand = [\"\", \"x\"]\n", want: []string{"worker.command", "must not be empty"}},
		{name: "unknown worker key", file: "[worker]\ncmd = [\"x\"]\n", want: []string{"FILE:2: worker.cmd: unknown key"}},
		{name: "missing file", args: []string{"-config", "/nonexistent/gorayd.toml"}, want: []string{"no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-resources.gpu", "0"}, tc.args...)
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
				args = append(args, "-config", path)
			}
			_, err := load(args...)
			if !errors.Is(err, agent.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "FILE", path)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	cfg := agent.DefaultConfig()
	cfg.Finalize(context.Background())
	cfg.Resources.CPU = -1
	cfg.Log.Format = "xml"
	cfg.Gossip.Preset = "warp"
	err := cfg.Validate()
	var fe *agent.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err %v is not a *FieldError", err)
	}
	for _, k := range []string{"resources.cpu", "log.format", "gossip.preset"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("joined error lacks %s: %v", k, err)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1024", 1024, true}, {"4KiB", 4096, true}, {"1.5GiB", 3 << 29, true}, {"2GB", 2e9, true},
		{"512MiB", 512 << 20, true}, {" 3 G ", 3 << 30, true}, {"", 0, false}, {"ten", 0, false}, {"5XB", 0, false},
	}
	for _, tc := range tests {
		var b agent.ByteSize
		err := b.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && int64(b) != tc.want) {
			t.Errorf("Set(%q) = %d, %v; want %d ok=%v", tc.in, b, err, tc.want, tc.ok)
		}
	}
}

func TestGPUDetectionWithNvidiaSMI(t *testing.T) {
	// A stand-in nvidia-smi on PATH prints what the real one prints for
	// `--query-gpu=name --format=csv,noheader` on a two-H200 machine.
	dir := t.TempDir()
	script := "#!/bin/sh\n[ \"$1\" = --query-gpu=name ] && [ \"$2\" = --format=csv,noheader ] || exit 3\nprintf 'NVIDIA H200\\nNVIDIA H200\\n'\n"
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfg, err := load("-dev")
	if err != nil {
		t.Fatal(err)
	}
	res := cfg.TotalResources()
	if res["GPU"] != 2 || res["accelerator_type:H200"] != 1 {
		t.Fatalf("detected resources %v, want GPU=2 and accelerator_type:H200=1", res)
	}
	// Setting GPUs by hand skips detection.
	cfg, err = load("-dev", "-resources.gpu", "1")
	if err != nil {
		t.Fatal(err)
	}
	if res := cfg.TotalResources(); res["GPU"] != 1 || res["accelerator_type:H200"] != 0 {
		t.Fatalf("manual GPU count: %v", res)
	}
	// Without nvidia-smi there are no GPUs.
	t.Setenv("PATH", t.TempDir())
	cfg, err = load("-dev")
	if err != nil {
		t.Fatal(err)
	}
	if res := cfg.TotalResources(); res["GPU"] != 0 {
		t.Fatalf("no nvidia-smi: %v", res)
	}
}
