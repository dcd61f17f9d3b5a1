package ppo

import (
	"os"
	"testing"

	"github.com/goray/goray"
)

func TestMain(m *testing.M) {
	// Actor tests re-execute this test binary as goray workers.
	goray.MaybeRunWorker()
	os.Exit(m.Run())
}
