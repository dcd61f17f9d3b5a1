package objectstore

import (
	"testing"

	"github.com/BurntSushi/toml"
)

// TestConfigTOML pins the TOML keys, which are part of the daemon's config file format.
func TestConfigTOML(t *testing.T) {
	const doc = `
dir = "/dev/shm/x"
limit = 1048576
spill_dir = "/var/spill"
inline_threshold = 2048
spill_threshold = 0.5
warm_reserve = 262144
bogus = 1
`
	var c Config
	md, err := toml.Decode(doc, &c)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Dir: "/dev/shm/x", Limit: 1 << 20, SpillDir: "/var/spill", InlineThreshold: 2048, SpillThreshold: 0.5, WarmReserve: 256 << 10}
	if c != want {
		t.Fatalf("decoded %+v; want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The agent rejects unknown keys through the metadata; make sure ours are all known.
	und := md.Undecoded()
	if len(und) != 1 || und[0].String() != "bogus" {
		t.Fatalf("undecoded keys %v; want only bogus", und)
	}
}
