package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesEmbeddedFiles(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	cases := []struct {
		method, path string
		code         int
		ctype, body  string
	}{
		{"GET", "/", 200, "text/html", `data-testid="tab-jobs"`},
		{"GET", "/jobs", 200, "text/html", `<script src="app.js">`},
		{"GET", "/app.js", 200, "javascript", "/api/v0"},
		{"GET", "/style.css", 200, "text/css", "svg.chart"},
		{"GET", "/missing.js", 404, "", ""},
		{"POST", "/", 405, "", ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.body) {
			t.Errorf("%s %s: %d %q, want %d %q containing %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.code, c.ctype, c.body)
		}
		if c.code == 200 && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("%s: no CSP header; the page must not load anything from elsewhere", c.path)
		}
	}
}

// TestNoExternalResources guards the air-gapped promise: nothing in the
// embedded files may point at another host.
func TestNoExternalResources(t *testing.T) {
	for _, f := range []string{"static/index.html", "static/app.js", "static/style.css"} {
		data, err := static.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "@import"} {
			s := strings.ReplaceAll(string(data), "http://www.w3.org/2000/svg", "")
			if strings.Contains(s, bad) {
				t.Errorf("%s refers to %q", f, bad)
			}
		}
	}
}
