package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	stdnet "net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
)

// adminNode starts a node with its admin API on, the admin key adminKey,
// cluster key "ck", seeds, and its logs written to logs (if not nil).
func adminNode(t *testing.T, id uint16, adminKey string, logs io.Writer, seeds ...string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ID = id
	cfg.Listen, cfg.HTTP, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.ClusterKey, cfg.AdminKey, cfg.Seeds = "ck", adminKey, seeds
	var log *slog.Logger
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := Start(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// do makes an admin API request with the Authorization header auth (none
// if empty) and returns the status and body.
func do(t *testing.T, method, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// lockedBuffer is a bytes.Buffer for logs written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAdminKeyOK(t *testing.T) {
	const key = "s3cret-key"
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"Bearer s3cret-key", true},
		{"bearer s3cret-key", true},
		{"", false},
		{"s3cret-key", false},
		{"Bearer ", false},
		{"Bearer s3cret", false},       // a prefix
		{"Bearer s3cret-key2", false},  // longer
		{"Bearer S3CRET-KEY", false},   // the key is case-sensitive
		{"Basic s3cret-key", false},    // another scheme
		{"Bearer  s3cret-key", false},  // not trimmed
		{"Bearer s3cret-key ", false},  // nor here
		{"Bearer\ts3cret-key", false},  // one space only
		{"Bearers3cret-key", false},    // no separator
		{"Bearer s3cret-kez", false},   // one byte off at the end
		{"Bearer t3cret-key", false},   // one byte off at the start
		{"Bearer " + key + key, false}, // twice
	} {
		if got := adminKeyOK(tc.header, key); got != tc.want {
			t.Errorf("adminKeyOK(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// With an admin key, every POST needs it (401 without, or with a wrong
// one); GETs do not. The key shows in no log line and no answer.
func TestAdminKeyRequired(t *testing.T) {
	const key = "k-7f3a9c-never-logged"
	logs := &lockedBuffer{}
	s := adminNode(t, 1, key, logs)
	base := s.AdminURL()
	var answers strings.Builder
	for _, path := range []string{"/v1/compact", "/v1/shutdown", "/v1/leave", "/v1/remove?id=9", "/v1/nodes/1/compact", "/v1/nodes/1/shutdown?force=1", "/v1/nodes/2/leave"} {
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + key[:len(key)-1], key} {
			code, body := do(t, "POST", base+path, auth)
			answers.WriteString(body)
			if code != http.StatusUnauthorized || !strings.Contains(body, "admin key") {
				t.Errorf("POST %s with Authorization %q: %d %s; want 401 naming the admin key", path, auth, code, body)
			}
		}
	}
	if code, body := do(t, "GET", base+"/v1/status", ""); code != http.StatusOK {
		t.Errorf("GET /v1/status without a key: %d %s, want 200", code, body)
	}
	// Profiles show the node's insides: the key even to read them.
	for _, auth := range []string{"", "Bearer wrong"} {
		if code, body := do(t, "GET", base+"/debug/pprof/heap", auth); code != http.StatusUnauthorized {
			t.Errorf("GET /debug/pprof/heap with Authorization %q: %d %s, want 401", auth, code, body)
		}
	}
	if code, body := do(t, "GET", base+"/debug/pprof/heap?debug=1", "Bearer "+key); code != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("GET /debug/pprof/heap with the key: %d %.200s, want 200 and a heap profile", code, body)
	}
	if code, _ := do(t, "GET", base+"/debug/pprof/cmdline", "Bearer "+key); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/cmdline with the key: %d, want 404 (the command line may hold keys)", code)
	}
	if code, body := do(t, "POST", base+"/v1/compact", "Bearer "+key); code != http.StatusOK {
		t.Errorf("POST /v1/compact with the key: %d %s, want 200", code, body)
	}
	if code, body := do(t, "POST", base+"/v1/nodes/1/compact", "Bearer "+key); code != http.StatusOK || !strings.Contains(body, "keys") {
		t.Errorf("POST /v1/nodes/1/compact with the key: %d %s, want 200 and the compaction's result", code, body)
	}
	select {
	case <-s.Shutdown():
		t.Fatal("a refused shutdown stopped the node")
	default:
	}
	if strings.Contains(logs.String(), key) || strings.Contains(answers.String(), key) {
		t.Errorf("the admin key shows in the logs or an answer:\n%s\n%s", logs, answers.String())
	}
	if !strings.Contains(logs.String(), "refused a request without the right admin key") {
		t.Errorf("refusals were not logged:\n%s", logs)
	}
}

// Without an admin key, POSTs are open, as before the key existed.
func TestAdminWithoutKey(t *testing.T) {
	s := adminNode(t, 1, "", nil)
	if code, body := do(t, "POST", s.AdminURL()+"/v1/nodes/1/compact", ""); code != http.StatusOK {
		t.Errorf("POST /v1/nodes/1/compact: %d %s, want 200", code, body)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/v1/nodes/0/compact", http.StatusBadRequest},
		{"/v1/nodes/x/compact", http.StatusBadRequest},
		{"/v1/nodes/70000/compact", http.StatusBadRequest},
		{"/v1/nodes/1/explode", http.StatusNotFound},
		{"/v1/nodes/9/compact", http.StatusNotFound}, // not a member
		{"/v1/nodes/1/compact?force=1", http.StatusBadRequest},
		{"/v1/nodes/1/shutdown?force=maybe", http.StatusBadRequest},
	} {
		if code, body := do(t, "POST", s.AdminURL()+tc.path, ""); code != tc.code || !strings.Contains(body, `"error"`) {
			t.Errorf("POST %s: %d %s, want %d with an error", tc.path, code, body, tc.code)
		}
	}
}

// getCluster reads GET /v1/cluster from s.
func getCluster(t *testing.T, s *Server, query string) ClusterStatus {
	t.Helper()
	code, body := do(t, "GET", s.AdminURL()+"/v1/cluster"+query, "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/cluster: %d %s", code, body)
	}
	var cs ClusterStatus
	if err := json.Unmarshal([]byte(body), &cs); err != nil {
		t.Fatalf("GET /v1/cluster: %v in %s", err, body)
	}
	return cs
}

func TestClusterStatus(t *testing.T) {
	a := adminNode(t, 1, "adm", nil)
	b := adminNode(t, 2, "adm", nil, a.Addr())
	servers := []*Server{a, b}
	waitUntil(t, "two members, normal", func() bool { _, ok := clusterNormal(servers); return ok })

	cs := getCluster(t, b, "")
	if cs.Node != 2 || len(cs.Members) != 2 {
		t.Fatalf("cluster from node 2: %+v, want node 2 answering with 2 members", cs)
	}
	var shares float64
	for i, m := range cs.Members {
		s := servers[i]
		if m.ID != uint16(i+1) || m.Addr != s.Addr() || m.Phase != "normal" || m.Liveness != "alive" || !m.Reachable ||
			m.Admin != s.AdminURL() || m.Version != Version() || m.Error != "" || m.LogBytes == 0 {
			t.Errorf("member %d: %+v, want node %d at %s, normal, alive, reachable, admin %s", i, m, i+1, s.Addr(), s.AdminURL())
		}
		if m.ReplicaShare != 1 {
			t.Errorf("member %d holds a replica of %v of the ring, want all of it (rf 3, 2 nodes)", m.ID, m.ReplicaShare)
		}
		shares += m.RingShare
	}
	if math.Abs(shares-1) > 1e-9 {
		t.Errorf("the members' first-replica shares add up to %v, want 1", shares)
	}

	// A member that went away is marked unreachable, with the reason; the
	// others are still described.
	b.Close()
	cs = getCluster(t, a, "?timeout=5s")
	if len(cs.Members) != 2 || !cs.Members[0].Reachable || cs.Members[1].Reachable || cs.Members[1].Error == "" {
		t.Fatalf("cluster after node 2 stopped: %+v, want node 1 reachable and node 2 not, with an error", cs)
	}
	t.Logf("node 2: %s", cs.Members[1].Error)
	// And an action on it says it cannot be reached.
	if code, body := do(t, "POST", a.AdminURL()+"/v1/nodes/2/compact", "Bearer adm"); code != http.StatusBadGateway {
		t.Errorf("compact of a stopped member: %d %s, want 502", code, body)
	}
	if code, body := do(t, "GET", a.AdminURL()+"/v1/cluster?timeout=forever", ""); code != http.StatusBadRequest {
		t.Errorf("GET /v1/cluster?timeout=forever: %d %s, want 400", code, body)
	}
}

// A member whose admin API accepts but never answers is given up at the
// deadline and marked with why, not waited for.
func TestClusterMemberDeadline(t *testing.T) {
	a := adminNode(t, 1, "", nil)
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []stdnet.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c) // read nothing, answer nothing
		}
	}()
	a.admins.put("10.9.9.9:7400", "http://"+ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = a.memberStatus(ctx, 2, "10.9.9.9:7400")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("status of a silent member: %v, want the deadline", err)
	}
	if _, ok := a.admins.get("10.9.9.9:7400"); ok {
		t.Error("the silent member's admin address is still cached")
	}
}

// Info is answered by the host, to clients and peers alike, with the
// admin API's URL.
func TestInfo(t *testing.T) {
	a := adminNode(t, 1, "", nil)
	r, err := a.askInfo(context.Background(), a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if want := (net.InfoReply{Node: 1, Version: Version(), Admin: a.AdminURL()}); *r != want {
		t.Errorf("info = %+v, want %+v", *r, want)
	}
	if !strings.HasPrefix(a.AdminURL(), "http://127.0.0.1:") {
		t.Errorf("admin URL %q, want http://127.0.0.1:port", a.AdminURL())
	}
}

// An admin API bound to every address is named by the advertised host.
func TestAdminURLUnspecified(t *testing.T) {
	s := &Server{httpAddr: "0.0.0.0:7401", cfg: Config{Advertise: "db1.example:7400"}}
	if got := s.makeAdminURL(); got != "http://db1.example:7401" {
		t.Errorf("makeAdminURL = %q, want http://db1.example:7401", got)
	}
	s = &Server{httpAddr: "[::]:7401", cfg: Config{Advertise: "[fd00::1]:7400"}}
	if got := s.makeAdminURL(); got != "http://[fd00::1]:7401" {
		t.Errorf("makeAdminURL = %q, want http://[fd00::1]:7401", got)
	}
}

func TestRate(t *testing.T) {
	r := &rateSampler{}
	if got := r.Rate(); got != 0 {
		t.Errorf("rate with no samples = %v", got)
	}
	t0 := time.Unix(1000, 0)
	for i := range 10 {
		r.add(t0.Add(time.Duration(i)*time.Second), uint64(100*i))
	}
	if got := r.Rate(); got != 100 {
		t.Errorf("rate = %v, want 100/s", got)
	}
	if len(r.samples) != rateWindow+1 {
		t.Errorf("%d samples kept, want %d", len(r.samples), rateWindow+1)
	}
	var nilRate *rateSampler
	if nilRate.Rate() != 0 {
		t.Error("a nil sampler's rate is not 0")
	}
}
