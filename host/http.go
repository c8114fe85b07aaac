package host

import (
	"encoding/json"
	"errors"
	"fmt"
	stdnet "net"
	"net/http"
	"os"
	"time"

	"github.com/memdb/memdb/node"
)

// Status is what GET /v1/status returns.
type Status struct {
	ID          uint16 `json:"id"`
	Listen      string `json:"listen"`
	Clock       string `json:"clock"`
	Keys        int    `json:"keys"`
	Bytes       int    `json:"bytes"`
	Connections int    `json:"connections"`
	Requests    uint64 `json:"requests"`
	Writes      uint64 `json:"writes"`
	Errors      uint64 `json:"errors"`
}

// Status reads the node's state on the loop.
func (s *Server) Status() Status {
	var st Status
	s.call(func() {
		ns := s.node.Stats()
		st = Status{
			ID: s.cfg.ID, Listen: s.Addr(), Clock: s.node.Clock().String(),
			Keys: s.node.Store().Len(), Bytes: s.node.Store().Bytes(), Connections: len(s.conns),
			Requests: ns.Requests, Writes: ns.Writes, Errors: ns.Errors,
		}
	})
	return st
}

// CompactResult is what POST /v1/compact returns.
type CompactResult struct {
	Keys       int   `json:"keys"`
	LogBefore  int64 `json:"log_bytes_before"`
	StoreBytes int   `json:"store_bytes"`
	DiskBefore int64 `json:"disk_bytes_before"`
	DiskAfter  int64 `json:"disk_bytes_after"`
}

// Compact compacts the node's log and waits until the new log is durable.
func (s *Server) Compact() (CompactResult, error) {
	before := dirBytes(s.cfg.DataDir)
	type outcome struct {
		res node.CompactResult
		err error
	}
	ch := make(chan outcome, 1)
	s.post(func() { s.node.Compact(func(r node.CompactResult, err error) { ch <- outcome{r, err} }) })
	select {
	case o := <-ch:
		if o.err != nil {
			return CompactResult{}, o.err
		}
		return CompactResult{Keys: o.res.Keys, LogBefore: o.res.LogBefore, StoreBytes: o.res.StoreBytes,
			DiskBefore: before, DiskAfter: dirBytes(s.cfg.DataDir)}, nil
	case <-s.loopDone:
		return CompactResult{}, errors.New("the server stopped")
	}
}

// dirBytes sums the sizes of the files in dir (0 if unreadable).
func dirBytes(dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

func (s *Server) startHTTP() error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s.Status())
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		st := s.Status()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP memdb_keys Keys held, tombstones included.\n# TYPE memdb_keys gauge\nmemdb_keys %d\n", st.Keys)
		fmt.Fprintf(w, "# HELP memdb_bytes Bytes held in keys and values.\n# TYPE memdb_bytes gauge\nmemdb_bytes %d\n", st.Bytes)
		fmt.Fprintf(w, "# HELP memdb_connections Open connections.\n# TYPE memdb_connections gauge\nmemdb_connections %d\n", st.Connections)
		fmt.Fprintf(w, "# HELP memdb_requests_total Client requests received.\n# TYPE memdb_requests_total counter\nmemdb_requests_total %d\n", st.Requests)
		fmt.Fprintf(w, "# HELP memdb_writes_total Writes applied.\n# TYPE memdb_writes_total counter\nmemdb_writes_total %d\n", st.Writes)
		fmt.Fprintf(w, "# HELP memdb_errors_total Error replies sent.\n# TYPE memdb_errors_total counter\nmemdb_errors_total %d\n", st.Errors)
	})
	mux.HandleFunc("POST /v1/compact", func(w http.ResponseWriter, r *http.Request) {
		res, err := s.Compact()
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(res)
	})
	mux.HandleFunc("POST /v1/shutdown", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "stopping")
		s.requestShutdown(nil)
	})
	ln, err := stdnet.Listen("tcp", s.cfg.HTTP)
	if err != nil {
		return fmt.Errorf("admin API: listen on %s: %w", s.cfg.HTTP, err)
	}
	s.httpAddr = ln.Addr().String()
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go s.http.Serve(ln)
	return nil
}

// HTTPAddr returns the admin API's address, or "" if it is disabled.
func (s *Server) HTTPAddr() string { return s.httpAddr }
