package agent

import "net/http"

// HandlePublic mounts h on the agent's HTTP API at pattern without the
// bearer-token check. It exists for what a client cannot authenticate:
// a browser's first load of the dashboard's static files (the page then
// asks for the token and sends it to the API itself) and Prometheus
// scrapers, which are usually configured without credentials. Anything
// that reveals or changes cluster state beyond that belongs behind Handle.
// It panics on a conflicting pattern, like http.ServeMux.
func (a *Agent) HandlePublic(pattern string, h http.Handler) {
	a.Handler()
	a.mux.Handle(pattern, h)
}
