package host

import (
	"embed"
	"io/fs"
	"net/http"
)

// The dashboard (GET /): one page of hand-written HTML, CSS and
// JavaScript, embedded in the binary, with no build step and nothing
// fetched from elsewhere. It reads what any client of the admin API
// reads — GET /v1/cluster for the members and the ring, GET /v1/stats
// for this node's charts — and its leave and shutdown buttons POST
// /v1/nodes/{id}/leave and /shutdown, with the admin key the user types
// when the node asks for one (kept in the tab's sessionStorage only).

//go:embed dashboard
var dashboardFiles embed.FS

// dashboardRoutes serves the dashboard at / and its files under
// /dashboard/.
func (s *Server) dashboardRoutes(mux *http.ServeMux) {
	files, err := fs.Sub(dashboardFiles, "dashboard")
	if err != nil {
		panic("host: the embedded dashboard has no dashboard directory: " + err.Error())
	}
	static := http.StripPrefix("/dashboard/", http.FileServerFS(files))
	mux.Handle("GET /dashboard/", dashboardHeaders(static))
	mux.Handle("GET /{$}", dashboardHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})))
}

// dashboardHeaders keeps the page to its own files (no inline script, no
// other origin) and out of frames, so its buttons cannot be clicked
// through another site's page; and has it fetched fresh after an upgrade.
func dashboardHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
