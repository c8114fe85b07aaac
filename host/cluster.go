package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/ring"
)

// The cluster manager: every node's admin API describes the whole cluster
// (GET /v1/cluster) and acts on any member (POST /v1/nodes/{id}/...). The
// members come from this node's view (the ring and gossip: address, phase,
// liveness, share of the ring); their load comes from each member's own
// GET /v1/status, asked concurrently under one deadline, so a member that
// does not answer in time is marked unreachable instead of holding the
// answer up. A member's admin API is found by asking the member itself
// over the binary protocol (info.go). An action on another member is
// forwarded to its admin API with the caller's Authorization header: the
// members must share the admin key.

// ClusterStatus is what GET /v1/cluster returns.
type ClusterStatus struct {
	// Node is the member that answered, Epoch its ring epoch.
	Node    uint16          `json:"node"`
	Epoch   uint64          `json:"epoch"`
	Members []ClusterMember `json:"members"`
}

// ClusterMember is one member in ClusterStatus. ID to ReplicaShare are
// this node's view; the rest is the member's own status, present when
// Reachable.
type ClusterMember struct {
	ID       uint16 `json:"id"`
	Addr     string `json:"addr"`
	Phase    string `json:"phase"`    // joining, normal, leaving, left (view.Phase)
	Liveness string `json:"liveness"` // alive, suspect or dead, as gossip has it here
	// RingShare is the fraction of the key space the member is first
	// replica of; ReplicaShare, the fraction it holds a replica of.
	RingShare    float64 `json:"ring_share"`
	ReplicaShare float64 `json:"replica_share"`
	// Reachable says whether the member's status was read in time; Error
	// says why not.
	Reachable      bool    `json:"reachable"`
	Error          string  `json:"error,omitempty"`
	Admin          string  `json:"admin,omitempty"`
	Version        string  `json:"version,omitempty"`
	Keys           int     `json:"keys"`
	Bytes          int     `json:"bytes"`
	RequestsPerSec float64 `json:"requests_per_sec"`
	HintsPending   int     `json:"hints_pending"`
	LogBytes       int64   `json:"log_bytes"`
}

// DefaultClusterTimeout bounds GET /v1/cluster's wait for the members;
// ?timeout=DUR chooses another (up to a minute).
const DefaultClusterTimeout = 2 * time.Second

// ringMembers is the part of node.RingJSON the cluster manager reads.
type ringMembers struct {
	Epoch   uint64 `json:"epoch"`
	Members []struct {
		ID    uint16 `json:"id"`
		Addr  string `json:"addr"`
		Phase string `json:"phase"`
		State string `json:"state"`
	} `json:"members"`
}

func (s *Server) members() (ringMembers, error) {
	var rm ringMembers
	raw, err := s.Ring()
	if err != nil {
		return rm, err
	}
	err = json.Unmarshal(raw, &rm)
	return rm, err
}

// Cluster describes every member, asking the others for their status
// within ctx.
func (s *Server) Cluster(ctx context.Context) (ClusterStatus, error) {
	rm, err := s.members()
	if err != nil {
		return ClusterStatus{}, err
	}
	var r ring.Ring
	s.call(func() { r = s.node.ReadRing() })
	cs := ClusterStatus{Node: s.cfg.ID, Epoch: rm.Epoch, Members: make([]ClusterMember, len(rm.Members))}
	var wg sync.WaitGroup
	for i, m := range rm.Members {
		cm := &cs.Members[i]
		*cm = ClusterMember{ID: m.ID, Addr: m.Addr, Phase: m.Phase, Liveness: m.State,
			RingShare: share(r, m.ID, 1), ReplicaShare: share(r, m.ID, s.cfg.ReplicationFactor)}
		if m.ID == s.cfg.ID {
			cm.fill(s.Status())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.memberStatus(ctx, m.ID, m.Addr)
			if err != nil {
				cm.Error = err.Error()
				return
			}
			cm.fill(st)
		}()
	}
	wg.Wait()
	slices.SortFunc(cs.Members, func(a, b ClusterMember) int { return int(a.ID) - int(b.ID) })
	return cs, nil
}

func (cm *ClusterMember) fill(st Status) {
	cm.Reachable = true
	cm.Admin, cm.Version = st.Admin, st.Version
	cm.Keys, cm.Bytes, cm.RequestsPerSec, cm.HintsPending, cm.LogBytes = st.Keys, st.Bytes, st.RequestsPerSec, st.HintsPending, st.LogBytes
}

// share is the fraction of the ring for which id is among the rf replicas.
func share(r ring.Ring, id uint16, rf int) float64 {
	rs := r.Ranges(id, rf)
	if len(rs) == 1 && rs[0].Size() == 0 {
		return 1 // the whole ring
	}
	var sum float64
	for _, g := range rs {
		sum += float64(g.Size())
	}
	return sum / math.Exp2(64)
}

// adminClient makes the admin API's requests to other members, over
// HTTPS when this node has TLS (trusting what it trusts for its peers, and
// presenting its certificate); callers bound each with a context.
func (s *Server) adminClient() *http.Client {
	s.adminHTTPOnce.Do(func() {
		s.adminHTTP = &http.Client{}
		if s.tls != nil {
			s.adminHTTP.Transport = &http.Transport{TLSClientConfig: s.tls.peer.Clone(), ForceAttemptHTTP2: true}
		}
	})
	return s.adminHTTP
}

// memberStatus reads a member's GET /v1/status.
func (s *Server) memberStatus(ctx context.Context, id uint16, addr string) (Status, error) {
	var st Status
	base, err := s.memberAdmin(ctx, id, addr)
	if err != nil {
		return st, fmt.Errorf("find its admin API: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := s.adminClient().Do(req)
	if err != nil {
		s.admins.drop(addr)
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.admins.drop(addr)
		return st, fmt.Errorf("GET %s/v1/status: %s", base, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return st, fmt.Errorf("GET %s/v1/status: %w", base, err)
	}
	if st.ID != id {
		s.admins.drop(addr)
		return st, fmt.Errorf("%s is the admin API of node %d, not %d", base, st.ID, id)
	}
	return st, nil
}

// memberFindTimeout bounds finding another member's admin API before an
// action is forwarded to it.
const memberFindTimeout = 5 * time.Second

// clusterRoutes adds the cluster manager's endpoints to mux.
func (s *Server) clusterRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		timeout := DefaultClusterTimeout
		if t := r.URL.Query().Get("timeout"); t != "" {
			d, err := time.ParseDuration(t)
			if err != nil || d <= 0 || d > time.Minute {
				writeError(w, http.StatusBadRequest, fmt.Errorf("timeout %q is not a duration in (0, 1m]", t))
				return
			}
			timeout = d
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		cs, err := s.Cluster(ctx)
		if err != nil {
			writeJSON(w, nil, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(cs)
	})
	mux.HandleFunc("POST /v1/nodes/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 16)
		if err != nil || id == 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("%q is not a node id 1..65535", r.PathValue("id")))
			return
		}
		action := r.PathValue("action")
		path, ok := map[string]string{"shutdown": "/v1/shutdown", "leave": "/v1/leave", "compact": "/v1/compact", "remove": ""}[action]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Errorf("unknown action %q: shutdown, leave, compact or remove", action))
			return
		}
		if action == "remove" {
			s.serveRemove(w, r, uint16(id))
			return
		}
		if r.URL.Query().Get("force") != "" && action != "shutdown" {
			writeError(w, http.StatusBadRequest, errors.New("force applies to shutdown only"))
			return
		}
		if uint16(id) == s.cfg.ID {
			s.serveLocal(w, r, action)
			return
		}
		s.forward(w, r, uint16(id), path)
	})
}

// serveLocal runs an action on this node, as its own endpoint does.
func (s *Server) serveLocal(w http.ResponseWriter, r *http.Request, action string) {
	switch action {
	case "shutdown":
		s.serveShutdown(w, r)
	case "leave":
		s.serveLeave(w, r)
	case "compact":
		s.serveCompact(w, r)
	}
}

// forward sends an action to member id's admin API and relays its answer.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, id uint16, path string) {
	rm, err := s.members()
	if err != nil {
		writeJSON(w, nil, err)
		return
	}
	addr := ""
	for _, m := range rm.Members {
		if m.ID == id {
			addr = m.Addr
		}
	}
	if addr == "" {
		writeError(w, http.StatusNotFound, fmt.Errorf("node %d is not a member of the cluster node %d knows", id, s.cfg.ID))
		return
	}
	fctx, cancel := context.WithTimeout(r.Context(), memberFindTimeout)
	base, err := s.memberAdmin(fctx, id, addr)
	cancel()
	if err != nil {
		writeError(w, http.StatusBadGateway, fmt.Errorf("node %d at %s: find its admin API: %w", id, addr, err))
		return
	}
	u := base + path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u, nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := s.adminClient().Do(req)
	if err != nil {
		s.admins.drop(addr)
		writeError(w, http.StatusBadGateway, fmt.Errorf("node %d: POST %s%s: %w", id, base, path, err))
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 1<<20))
}

// serveShutdown stops the node: gracefully, or at once with ?force=1. The
// answer is flushed before the stop is asked for, so it reaches the caller
// even when memdbd exits at once.
func (s *Server) serveShutdown(w http.ResponseWriter, r *http.Request) {
	force := r.URL.Query().Get("force")
	switch force {
	case "", "0", "false":
		force = ""
	case "1", "true":
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("force=%q: want 1 or 0", force))
		return
	}
	if force != "" {
		fmt.Fprintln(w, "stopping at once")
	} else {
		fmt.Fprintln(w, "stopping")
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if force != "" {
		s.forced.Store(true)
	}
	s.requestShutdown(nil)
}

func (s *Server) serveLeave(w http.ResponseWriter, _ *http.Request) {
	err := s.Leave()
	writeJSON(w, map[string]bool{"left": true}, err)
}

func (s *Server) serveCompact(w http.ResponseWriter, _ *http.Request) {
	res, err := s.Compact()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, res, nil)
}

func (s *Server) serveRemove(w http.ResponseWriter, r *http.Request, id uint16) {
	err := s.Remove(r.Context(), id)
	if errors.Is(err, node.ErrRemove) {
		writeError(w, http.StatusConflict, err)
		return
	}
	writeJSON(w, map[string]any{"removed": id}, err)
}

// writeError answers with code and {"error": err}.
func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// Forced reports whether the node was asked to stop at once
// (POST /v1/shutdown?force=1): memdbd then exits without the graceful
// stop, as after a crash, and the node replays its log at its next start.
func (s *Server) Forced() bool { return s.forced.Load() }
