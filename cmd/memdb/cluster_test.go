package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAdmin is an admin API that answers GET /v1/cluster with a fixed
// cluster and records the POSTs, refusing those without the key "ak".
type fakeAdmin struct {
	*httptest.Server
	mu    sync.Mutex
	posts []string
}

func startFakeAdmin(t *testing.T) *fakeAdmin {
	t.Helper()
	a := &fakeAdmin{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("timeout") == "" {
			http.Error(w, `{"error":"no timeout"}`, http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"node":1,"epoch":3,"members":[
			{"id":1,"addr":"127.0.0.1:7400","phase":"normal","liveness":"alive","reachable":true,"keys":12},
			{"id":2,"addr":"127.0.0.1:7410","phase":"leaving","liveness":"suspect","reachable":true,"keys":0},
			{"id":3,"addr":"127.0.0.1:7420","phase":"normal","liveness":"dead","reachable":false,"error":"refused"}]}`))
	})
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ak" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"wrong admin key"}`))
			return
		}
		if strings.Contains(r.URL.Path, "/9/") {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"node 9 is not a member"}`))
			return
		}
		a.mu.Lock()
		a.posts = append(a.posts, r.URL.RequestURI())
		a.mu.Unlock()
		w.Write([]byte("{}"))
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

func (a *fakeAdmin) taken() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.posts
	a.posts = nil
	return p
}

func TestClusterCommands(t *testing.T) {
	admin := startFakeAdmin(t)
	node := startFake(t)
	node.admin = admin.URL
	env := func(k string) string {
		switch k {
		case keyEnv:
			return testKey
		case adminKeyEnv:
			return "ak"
		}
		return ""
	}
	hostPort := strings.TrimPrefix(admin.URL, "http://")
	tests := []struct {
		args   []string
		status int
		stdout string
		stderr string // a substring of stderr; "" means none
		posted string // the POST the admin API received, if any
	}{
		{[]string{"cluster", "status"}, exitOK,
			"1 127.0.0.1:7400 normal alive 12\n2 127.0.0.1:7410 leaving suspect 0\n3 127.0.0.1:7420 normal dead -\n", "", ""},
		{[]string{"-admin", hostPort, "cluster", "status"}, exitOK,
			"1 127.0.0.1:7400 normal alive 12\n2 127.0.0.1:7410 leaving suspect 0\n3 127.0.0.1:7420 normal dead -\n", "", ""},
		{[]string{"cluster", "shutdown", "2"}, exitOK, "ok\n", "", "/v1/nodes/2/shutdown"},
		{[]string{"cluster", "shutdown", "2", "force"}, exitOK, "ok\n", "", "/v1/nodes/2/shutdown?force=1"},
		{[]string{"cluster", "leave", "3"}, exitOK, "ok\n", "", "/v1/nodes/3/leave"},
		{[]string{"cluster", "remove", "3"}, exitOK, "ok\n", "", "/v1/nodes/3/remove"},
		{[]string{"-admin", admin.URL, "cluster", "COMPACT", "1"}, exitOK, "ok\n", "", "/v1/nodes/1/compact"},
		{[]string{"-admin-key", "nope", "cluster", "compact", "1"}, exitFailed, "", "admin key refused: wrong admin key (check -admin-key", ""},
		{[]string{"cluster", "compact", "9"}, exitFailed, "", "node 9 is not a member", ""},
		{[]string{"cluster"}, exitUsage, "", "usage: memdb cluster status", ""},
		{[]string{"cluster", "explode"}, exitUsage, "", `unknown cluster command "explode"`, ""},
		{[]string{"cluster", "leave"}, exitUsage, "", "needs the id", ""},
		{[]string{"cluster", "leave", "0"}, exitUsage, "", "not a node id", ""},
		{[]string{"cluster", "leave", "65536"}, exitUsage, "", "not a node id", ""},
		{[]string{"cluster", "leave", "2", "force"}, exitUsage, "", `takes no "force"`, ""},
		{[]string{"cluster", "status", "2"}, exitUsage, "", "takes no more arguments", ""},
		{[]string{"cluster", "shutdown", "2", "force", "now"}, exitUsage, "", "at most 3 arguments", ""},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-addr", node.addr(), "-no-routing"}, tc.args...)
		status := run(args, strings.NewReader(""), &stdout, &stderr, env)
		if status != tc.status || stdout.String() != tc.stdout || (tc.stderr == "") != (stderr.Len() == 0) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("memdb %q: status %d, stdout %q, stderr %q; want %d, %q, stderr with %q", tc.args, status, stdout.String(), stderr.String(), tc.status, tc.stdout, tc.stderr)
		}
		if got := admin.taken(); tc.posted != "" && (len(got) != 1 || got[0] != tc.posted) {
			t.Errorf("memdb %q posted %q, want %q", tc.args, got, tc.posted)
		}
	}
}

// A node without an admin API says so.
func TestClusterNoAdmin(t *testing.T) {
	node := startFake(t)
	var stdout, stderr bytes.Buffer
	status := run([]string{"-addr", node.addr(), "-no-routing", "-key", testKey, "cluster", "status"}, strings.NewReader(""), &stdout, &stderr, noEnv)
	if status != exitFailed || !strings.Contains(stderr.String(), "has no admin API") {
		t.Errorf("cluster status against a node without an admin API: %d %q %q", status, stdout.String(), stderr.String())
	}
}
