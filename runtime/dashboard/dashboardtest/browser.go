// Package dashboardtest drives goray's dashboard in headless Chromium for
// tests: a Browser pointed at any dashboard URL (an httptest server over an
// in-memory source, or a real gorayd), with steps that fail the test with
// the page's JavaScript errors, polling on JavaScript conditions, and
// screenshots kept as test artifacts.
//
// It is product code for tests, like internal/testutil, so that the
// dashboard's own tests and the end-to-end tests of cmd/gorayd share one
// way of starting Chromium with the flags that keep it from stalling on a
// machine without network.
package dashboardtest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// ArtifactDir is where screenshots go: $GORAY_TEST_ARTIFACTS/<sub> (kept
// after the run) or a temporary directory.
func ArtifactDir(t testing.TB, sub string) string {
	t.Helper()
	if d := os.Getenv("GORAY_TEST_ARTIFACTS"); d != "" {
		d = filepath.Join(d, sub)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("artifact dir: %v", err)
		}
		return d
	}
	return t.TempDir()
}

// Browser is one headless Chromium tab. Every action is bounded by the
// deadline given to New.
type Browser struct {
	t   testing.TB
	ctx context.Context
	// Dir is where Shot writes screenshots.
	Dir  string
	mu   sync.Mutex
	errs []string
}

// New starts headless Chromium, or skips the test when it is not
// installed. Everything the browser does must finish within timeout. An
// exception or console.error on the page fails the test at cleanup. The
// browser is closed in t.Cleanup; callers that serve the page with
// httptest register the server's Close before calling New, so that the
// browser (which holds the page's event stream open) goes first.
func New(t testing.TB, artifacts string, timeout time.Duration) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skipf("browser test needs Chromium at %s (apt-get install -y chromium): %v", ChromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	cctx, cancelB := chromedp.NewContext(actx)
	tctx, cancelT := context.WithTimeout(cctx, timeout)
	t.Cleanup(func() {
		cancelT()
		_ = chromedp.Cancel(cctx)
		cancelB()
		cancelA()
	})
	b := &Browser{t: t, ctx: tctx, Dir: ArtifactDir(t, artifacts)}
	if err := chromedp.Listen(cctx, b.onEvent); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.errs) > 0 {
			t.Errorf("the page raised JavaScript errors: %q", b.errs)
		}
	})
	return b
}

func (b *Browser) onEvent(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *cdpruntime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type != "error" {
			return
		}
		msg = "console.error:"
		for _, a := range ev.Args {
			msg += " " + a.Description + string(a.Value)
		}
	default:
		return
	}
	b.mu.Lock()
	b.errs = append(b.errs, msg)
	b.mu.Unlock()
}

// Step runs actions and fails the test, naming what and the page's
// JavaScript errors, when one fails.
func (b *Browser) Step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.t.Fatalf("%s: %v (JS errors: %q)", what, err, b.errs)
	}
}

// Poll waits until the JavaScript expression is true, at most within.
func Poll(expr string, within time.Duration) chromedp.Action[chromedp.Void] {
	p := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(within))
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := p(ctx, tg)
		return chromedp.Void{}, err
	}
}

// Eval evaluates a JavaScript expression that yields a string.
func (b *Browser) Eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Shot saves a full-page screenshot as Dir/name, logs its path and
// returns it.
func (b *Browser) Shot(name string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.Dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
	return p
}
