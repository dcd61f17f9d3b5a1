package tomlutil

import (
	"errors"
	"strings"
	"testing"
)

type testCfg struct {
	Name string `toml:"name"`
	Res  struct {
		CPU float64 `toml:"cpu"`
	} `toml:"resources"`
	Env  map[string]string `toml:"env"`
	Args []string          `toml:"args"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		allow   []string
		wantErr string // substring; "" means no error
		is      error
	}{
		{name: "ok", src: "name = \"a\"\n[resources]\ncpu = 2\n[env]\nA = \"b\"\n"},
		{name: "unknown top key", src: "name = \"a\"\nnmae = \"b\"\n", wantErr: "job.toml:2:1: nmae: unknown key", is: ErrUnknownKey},
		{name: "unknown nested key", src: "name = \"a\"\n\n[resources]\n  cpu = 1\n  gpus = 2\n", wantErr: "job.toml:5:3: resources.gpus: unknown key", is: ErrUnknownKey},
		{name: "unknown table", src: "[rlib]\nenv = \"x\"\n", wantErr: "job.toml:1:1: rlib: unknown key", is: ErrUnknownKey},
		{name: "allowed table", src: "[rllib]\nenv = \"x\"\n[rllib.stop]\nx = 1\n", allow: []string{"rllib"}},
		{name: "inline table key", src: "resources = { cpu = 1, gpu = 2 }\n", wantErr: "job.toml:1:24: resources.gpu: unknown key", is: ErrUnknownKey},
		{name: "dotted key", src: "resources.cpux = 1\n", wantErr: "job.toml:1:1: resources.cpux: unknown key", is: ErrUnknownKey},
		{name: "syntax", src: "name = \"a\"\nargs = [1,\n", wantErr: "job.toml:2:11: args: invalid TOML", is: ErrSyntax},
		{name: "wrong type", src: "name = \"a\"\n[resources]\ncpu = \"two\"\n", wantErr: "job.toml:3:1: resources.cpu:", is: ErrSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c testCfg
			_, err := Decode("job.toml", []byte(tc.src), &c, tc.allow...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v is not %v", err, tc.is)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError", err)
			}
		})
	}
}

func TestScanPositions(t *testing.T) {
	src := "a = 1\n[t]\n b = \"\"\"\nc = 2\n\"\"\"\n d.e = 3\n[[arr]]\nf = 1\n"
	pos := scanPositions(src)
	want := map[string]Position{"a": {1, 1}, "t": {2, 1}, "t.b": {3, 2}, "t.d.e": {6, 2}, "t.d": {6, 2}, "arr.f": {8, 1}}
	for k, p := range want {
		if pos[k] != p {
			t.Errorf("pos[%q] = %v, want %v", k, pos[k], p)
		}
	}
	if _, ok := pos["t.c"]; ok {
		t.Errorf("key inside a multi-line string was recorded")
	}
}
