package cluster

import (
	"context"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// HCLogger adapts an slog.Logger to hclog.Logger, the logger interface
// HashiCorp libraries (go-plugin, and memberlist through StandardLogger) want.
// Levels map Trace→Debug-4, Debug, Info, Warn, Error; hclog's key/value args
// become slog attributes. A nil logger discards.
func HCLogger(l *slog.Logger) hclog.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &hcAdapter{l: l}
}

// levelTrace is below slog.LevelDebug, so traces show only when asked for.
const levelTrace = slog.LevelDebug - 4

type hcAdapter struct {
	l       *slog.Logger
	name    string
	implied []any
}

var _ hclog.Logger = (*hcAdapter)(nil)

func toSlogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (a *hcAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	a.l.Log(context.Background(), toSlogLevel(level), msg, args...)
}
func (a *hcAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hcAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hcAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hcAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hcAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hcAdapter) enabled(l slog.Level) bool { return a.l.Enabled(context.Background(), l) }
func (a *hcAdapter) IsTrace() bool             { return a.enabled(levelTrace) }
func (a *hcAdapter) IsDebug() bool             { return a.enabled(slog.LevelDebug) }
func (a *hcAdapter) IsInfo() bool              { return a.enabled(slog.LevelInfo) }
func (a *hcAdapter) IsWarn() bool              { return a.enabled(slog.LevelWarn) }
func (a *hcAdapter) IsError() bool             { return a.enabled(slog.LevelError) }
func (a *hcAdapter) ImpliedArgs() []any        { return a.implied }
func (a *hcAdapter) Name() string              { return a.name }

func (a *hcAdapter) With(args ...any) hclog.Logger {
	return &hcAdapter{l: a.l.With(args...), name: a.name, implied: append(append([]any(nil), a.implied...), args...)}
}

func (a *hcAdapter) Named(name string) hclog.Logger {
	if a.name != "" {
		name = a.name + "." + name
	}
	return a.ResetNamed(name)
}

func (a *hcAdapter) ResetNamed(name string) hclog.Logger {
	return &hcAdapter{l: a.l.With("logger", name), name: name, implied: a.implied}
}

// SetLevel is a no-op: the level belongs to the injected slog handler.
func (a *hcAdapter) SetLevel(hclog.Level) {}

func (a *hcAdapter) GetLevel() hclog.Level {
	switch {
	case a.IsTrace():
		return hclog.Trace
	case a.IsDebug():
		return hclog.Debug
	case a.IsInfo():
		return hclog.Info
	case a.IsWarn():
		return hclog.Warn
	default:
		return hclog.Error
	}
}

func (a *hcAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hcAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	if opts == nil {
		opts = &hclog.StandardLoggerOptions{}
	}
	return &stdWriter{a: a, infer: opts.InferLevels, force: opts.ForceLevel}
}

// stdWriter turns lines written by a standard *log.Logger (memberlist writes
// "[DEBUG] memberlist: ...") into leveled slog records.
type stdWriter struct {
	a     *hcAdapter
	infer bool
	force hclog.Level
}

func (w *stdWriter) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		level, msg := hclog.Info, strings.TrimSpace(line)
		if w.force != hclog.NoLevel {
			level, msg = w.force, stripLevel(msg)
		} else if w.infer {
			level, msg = inferLevel(msg)
		}
		w.a.Log(level, msg)
	}
	return len(p), nil
}

// inferLevel reads a leading "[LEVEL]" tag the way hclog does, so memberlist's
// chatter ("[DEBUG] memberlist: Stream connection from=...") lands at debug
// and its "[ERR]" lines at error.
func inferLevel(line string) (hclog.Level, string) {
	tags := []struct {
		tag   string
		level hclog.Level
	}{
		{"[TRACE]", hclog.Trace}, {"[DEBUG]", hclog.Debug}, {"[INFO]", hclog.Info},
		{"[WARN]", hclog.Warn}, {"[ERR]", hclog.Error}, {"[ERROR]", hclog.Error},
	}
	for _, t := range tags {
		if rest, ok := strings.CutPrefix(line, t.tag); ok {
			return t.level, strings.TrimSpace(rest)
		}
	}
	return hclog.Info, line
}

func stripLevel(line string) string {
	_, msg := inferLevel(line)
	return msg
}

// memberlistLogger is the *log.Logger memberlist gets: level-inferring, over
// the injected slog logger.
func memberlistLogger(l *slog.Logger) *log.Logger {
	return HCLogger(l).Named("memberlist").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
}
