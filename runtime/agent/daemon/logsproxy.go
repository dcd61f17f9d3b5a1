package daemon

import (
	"net/http"
	"net/http/httputil"
	"net/url"
)

// peerLogs sends /api/v0/logs requests that name another live node to that
// node's own API, so `goray logs --node N` and the dashboard read any
// node's logs (its own log and its workers') through whichever daemon they
// talk to. Each daemon keeps only its own logs; nothing is copied around.
func (o *observer) peerLogs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		node := r.URL.Query().Get("node")
		if r.URL.Path != "/api/v0/logs" || node == "" || node == o.self {
			next.ServeHTTP(w, r)
			return
		}
		for _, n := range o.d.agent.Nodes() {
			if n.ID != node || n.State != "alive" || n.HTTPAddr == "" {
				continue
			}
			target := &url.URL{Scheme: "http", Host: n.HTTPAddr}
			proxy := &httputil.ReverseProxy{
				Rewrite: func(pr *httputil.ProxyRequest) {
					pr.SetURL(target)
					// The token checked here is the cluster's; the peer
					// checks the same one.
					pr.Out.Header.Set("Authorization", r.Header.Get("Authorization"))
				},
				FlushInterval: -1, // stream followed logs as they come
			}
			proxy.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
