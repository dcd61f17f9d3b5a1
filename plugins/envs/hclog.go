package envs

import (
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// NewHCLogger adapts an injected *slog.Logger to the hclog.Logger that
// go-plugin wants, so that plugin start/stop messages and the plugin's own
// stderr lines (re-emitted by go-plugin at their level) end up in the host's
// log stream. A nil logger discards everything.
func NewHCLogger(l *slog.Logger, name string) hclog.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	h := &hcAdapter{base: l, name: name, level: new(atomic.Int32)}
	h.level.Store(int32(hclog.Debug))
	h.l = h.named()
	return h
}

type hcAdapter struct {
	base    *slog.Logger // with the implied args, without the name
	l       *slog.Logger // base plus the name
	name    string
	implied []any
	level   *atomic.Int32
}

func toSlogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Info, hclog.NoLevel, hclog.DefaultLevel:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (h *hcAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level < hclog.Level(h.level.Load()) {
		return
	}
	h.l.Log(context.Background(), toSlogLevel(level), msg, args...)
}

func (h *hcAdapter) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcAdapter) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcAdapter) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcAdapter) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcAdapter) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcAdapter) enabled(level hclog.Level) bool {
	return level >= hclog.Level(h.level.Load()) && h.l.Enabled(context.Background(), toSlogLevel(level))
}

func (h *hcAdapter) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hcAdapter) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hcAdapter) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hcAdapter) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hcAdapter) IsError() bool { return h.enabled(hclog.Error) }

func (h *hcAdapter) ImpliedArgs() []any { return h.implied }

func (h *hcAdapter) named() *slog.Logger {
	if h.name == "" {
		return h.base
	}
	return h.base.With("logger", h.name)
}

func (h *hcAdapter) With(args ...any) hclog.Logger {
	c := *h
	c.base = h.base.With(args...)
	c.l = c.named()
	c.implied = append(append([]any(nil), h.implied...), args...)
	return &c
}

func (h *hcAdapter) Name() string { return h.name }

func (h *hcAdapter) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *hcAdapter) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	c.l = c.named()
	return &c
}

func (h *hcAdapter) SetLevel(level hclog.Level) { h.level.Store(int32(level)) }
func (h *hcAdapter) GetLevel() hclog.Level      { return hclog.Level(h.level.Load()) }

func (h *hcAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hcAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		h.Info(strings.TrimRight(string(p), "\n"))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
