package envs_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/goray/goray/plugins/envs"
)

func TestHCLogger(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := envs.NewHCLogger(base, "envplugin")
	l.Trace("too fine")            // below slog's Debug: dropped by the handler
	l.Debug("dbg", "k", 1)         // kept
	l.Named("grid").Warn("w")      // named logger
	l.With("pid", 7).Error("boom") // implied args
	l.SetLevel(hclog.Error)
	l.Info("muted")
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg=dbg logger=envplugin k=1`,
		`level=WARN msg=w logger=envplugin.grid`,
		`level=ERROR msg=boom pid=7 logger=envplugin`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"too fine", "muted"} {
		if strings.Contains(out, not) {
			t.Errorf("log has %q:\n%s", not, out)
		}
	}
	if l.IsDebug() || !l.IsError() || l.Named("x").Name() != "envplugin.x" {
		t.Errorf("levels/names: IsDebug %v IsError %v name %q", l.IsDebug(), l.IsError(), l.Named("x").Name())
	}
	envs.NewHCLogger(nil, "").Error("discarded") // a nil logger must not panic
}
