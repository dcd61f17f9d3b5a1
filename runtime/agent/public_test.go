package agent_test

import (
	"net/http"
	"testing"

	"github.com/goray/goray/internal/testutil"
)

func TestHandlePublicSkipsTheToken(t *testing.T) {
	c := testutil.NewLocalCluster(t, 1, testutil.WithToken("s3cret"))
	a := c.Agents[0]
	base := "http://" + a.HTTPAddr()
	a.HandlePublic("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("m 1\n"))
	}))
	a.HandlePublic("/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("page"))
	}))
	for path, want := range map[string]string{"/metrics": "m 1\n", "/": "page", "/index.html": "page"} {
		if code, body := get(t, base+path, ""); code != http.StatusOK || string(body) != want {
			t.Errorf("%s without a token: %d %q, want 200 %q", path, code, body, want)
		}
	}
	// The catch-all does not open the protected endpoints.
	if code, _ := get(t, base+"/v1/nodes", ""); code != http.StatusUnauthorized {
		t.Errorf("/v1/nodes without a token beside a public /: %d, want 401", code)
	}
}
