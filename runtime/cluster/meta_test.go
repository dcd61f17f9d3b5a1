package cluster_test

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/goray/goray/runtime/cluster"
)

func sampleMeta() cluster.NodeMeta {
	return cluster.NodeMeta{
		Version:   "0.1.0",
		ID:        cluster.NewNodeID(),
		Name:      "node-a",
		RPCAddr:   "127.0.0.10:7947",
		HTTPAddr:  "127.0.0.10:8265",
		Resources: map[string]float64{"CPU": 16, "GPU": 1, "memory": 64 << 30, "accelerator_type:H200": 1},
	}
}

func TestNodeMetaRoundTrip(t *testing.T) {
	m := sampleMeta()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != cluster.MetaFormatVersion {
		t.Fatalf("first byte %d, want format version %d", b[0], cluster.MetaFormatVersion)
	}
	var got cluster.NodeMeta
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || got.Name != m.Name || got.RPCAddr != m.RPCAddr || got.HTTPAddr != m.HTTPAddr || got.Version != m.Version {
		t.Fatalf("round trip: got %+v, want %+v", got, m)
	}
	if !maps.Equal(got.Resources, m.Resources) {
		t.Fatalf("resources: got %v, want %v", got.Resources, m.Resources)
	}
	b2, _ := got.MarshalBinary()
	if string(b) != string(b2) {
		t.Fatal("encoding is not deterministic")
	}
}

func TestNodeMetaTooManyResourcesFailsValidate(t *testing.T) {
	m := sampleMeta()
	for i := range 40 {
		m.Resources[fmt.Sprintf("accelerator_type:custom-device-%02d", i)] = 1
	}
	err := m.Validate()
	if !errors.Is(err, cluster.ErrMetaTooLarge) {
		t.Fatalf("Validate = %v, want ErrMetaTooLarge", err)
	}
	if !strings.Contains(err.Error(), "limit 512") {
		t.Fatalf("error should name the limit: %v", err)
	}
	// The same metadata must be refused by NewMembership, not truncated.
	_, err = cluster.NewMembership(cluster.Config{Meta: m, BindAddr: "127.0.0.1"}, cluster.Hooks{}, nil)
	if !errors.Is(err, cluster.ErrMetaTooLarge) || !errors.Is(err, cluster.ErrBadConfig) {
		t.Fatalf("NewMembership = %v, want ErrBadConfig wrapping ErrMetaTooLarge", err)
	}
}

func TestNodeMetaDecodeErrors(t *testing.T) {
	good, err := sampleMeta().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, good...)
	bad[0] = 99
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, cluster.ErrMetaCorrupt},
		{"future version", bad, cluster.ErrMetaVersion},
		{"only version", good[:1], cluster.ErrMetaCorrupt},
	}
	// Every truncation of a valid encoding must fail cleanly, never panic.
	for i := 2; i < len(good); i++ {
		tests = append(tests, struct {
			name string
			in   []byte
			want error
		}{fmt.Sprintf("truncated to %d", i), good[:i], cluster.ErrMetaCorrupt})
	}
	for _, tc := range tests {
		var m cluster.NodeMeta
		if err := m.UnmarshalBinary(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestNodeMetaValidateRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*cluster.NodeMeta)
	}{
		{"empty id", func(m *cluster.NodeMeta) { m.ID = "" }},
		{"negative resource", func(m *cluster.NodeMeta) { m.Resources["CPU"] = -1 }},
		{"empty resource name", func(m *cluster.NodeMeta) { m.Resources[""] = 1 }},
	}
	for _, tc := range tests {
		m := sampleMeta()
		tc.mut(&m)
		if err := m.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", tc.name, m)
		}
	}
}

func TestNewNodeIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := cluster.NewNodeID()
		if len(id) != 32 || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}

// FuzzNodeMetaUnmarshal checks that arbitrary gossip bytes never panic the
// decoder and that whatever decodes re-encodes to a decodable equal value.
func FuzzNodeMetaUnmarshal(f *testing.F) {
	good, _ := sampleMeta().MarshalBinary()
	f.Add(good)
	f.Add([]byte{cluster.MetaFormatVersion})
	f.Add([]byte{cluster.MetaFormatVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m cluster.NodeMeta
		if err := m.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			return // decodable but invalid (e.g. negative amount): Validate refuses it
		}
		var again cluster.NodeMeta
		if err := again.UnmarshalBinary(enc); err != nil || again.ID != m.ID || !maps.Equal(again.Resources, m.Resources) {
			t.Fatalf("re-decode: %+v vs %+v: %v", again, m, err)
		}
	})
}
