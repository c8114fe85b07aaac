package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The cluster commands talk to a node's admin API (memdbd -http), found by
// asking the node memdb talks to over the binary protocol (client.Info),
// or named with -admin. The commands that change the cluster send the
// admin key (-admin-key, $MEMDB_ADMIN_KEY) as "Authorization: Bearer KEY".

// adminKeyEnv holds the admin key when -admin-key is not given.
const adminKeyEnv = "MEMDB_ADMIN_KEY"

// clusterActionTimeout bounds a cluster command that changes the cluster
// when -timeout is not given: a leave streams the node's ranges away, and
// a compaction rewrites its log, so they take longer than a request.
const clusterActionTimeout = 10 * time.Minute

// clusterUsage is the cluster command's argument line.
const clusterUsage = "status | shutdown ID [force] | leave ID | remove ID | compact ID"

// errAdminKey is a 401 from the admin API.
var errAdminKey = errors.New("admin key refused")

// adminHTTP returns the client of the cluster commands' requests: a node
// with TLS serves its admin API over HTTPS, trusted as its binary port is
// (-tls-ca; a client certificate is presented if given, though the admin
// key is what authorizes). Contexts bound the requests.
func (s *session) adminHTTP() *http.Client {
	if s.opts.TLS == nil {
		return http.DefaultClient
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: s.opts.TLS.Clone(), ForceAttemptHTTP2: true}}
}

func doCluster(ctx context.Context, s *session, in input) (string, error) {
	usage := func(msg string) error {
		return &usageError{msg: msg, usage: "cluster " + clusterUsage}
	}
	switch {
	case len(in.args) == 0:
		return "", usage("cluster needs a subcommand")
	case len(in.args) > 3:
		return "", usage(fmt.Sprintf("cluster takes at most 3 arguments, not %d", len(in.args)))
	}
	sub := strings.ToLower(in.args[0])
	var id uint64
	switch sub {
	case "status":
		if len(in.args) != 1 {
			return "", usage("cluster status takes no more arguments")
		}
	case "shutdown", "leave", "remove", "compact":
		if len(in.args) < 2 {
			return "", usage("cluster " + sub + " needs the id of the node")
		}
		var err error
		if id, err = strconv.ParseUint(in.args[1], 10, 16); err != nil || id == 0 {
			return "", usage(fmt.Sprintf("%q is not a node id 1..65535", in.args[1]))
		}
		if len(in.args) == 3 && (sub != "shutdown" || strings.ToLower(in.args[2]) != "force") {
			return "", usage(fmt.Sprintf("cluster %s takes no %q", sub, in.args[2]))
		}
	default:
		return "", usage(fmt.Sprintf("unknown cluster command %q", in.args[0]))
	}
	base, err := s.adminBase(ctx)
	if err != nil {
		return "", err
	}
	if sub == "status" {
		return clusterStatus(ctx, s.adminHTTP(), base, s.opts.Timeout)
	}
	if !s.timeoutSet {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), clusterActionTimeout)
		defer cancel()
	}
	path := fmt.Sprintf("/v1/nodes/%d/%s", id, sub)
	if len(in.args) == 3 {
		path += "?force=1"
	}
	return "ok", adminPost(ctx, s.adminHTTP(), base, path, s.adminKey)
}

// adminBase returns the base URL of the admin API the cluster commands
// use: -admin, or the one the node memdb talks to names.
func (s *session) adminBase(ctx context.Context) (string, error) {
	if s.admin != "" {
		if !strings.Contains(s.admin, "://") {
			return "http://" + s.admin, nil
		}
		return strings.TrimSuffix(s.admin, "/"), nil
	}
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("find the node's admin API: %w", err)
	}
	if info.Admin == "" {
		return "", fmt.Errorf("node %d has no admin API (it runs with -http \"\"): name another node's with -admin HOST:PORT", info.Node)
	}
	s.admin = info.Admin
	return info.Admin, nil
}

// clusterMember is the part of GET /v1/cluster memdb prints.
type clusterMember struct {
	ID        uint16 `json:"id"`
	Addr      string `json:"addr"`
	Phase     string `json:"phase"`
	Liveness  string `json:"liveness"`
	Reachable bool   `json:"reachable"`
	Keys      int    `json:"keys"`
}

// clusterStatus prints one line per member: id, address, phase, liveness
// and keys ("-" for a member that did not answer). The node waits for the
// members for most of the command's timeout.
func clusterStatus(ctx context.Context, hc *http.Client, base string, timeout time.Duration) (string, error) {
	wait := max(timeout*3/4, 100*time.Millisecond)
	wait = min(wait, time.Minute)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/cluster?timeout="+wait.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("cluster status: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", fmt.Errorf("cluster status: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("cluster status: %s", answerError(resp.Status, body))
	}
	var cs struct {
		Members []clusterMember `json:"members"`
	}
	if err := json.Unmarshal(body, &cs); err != nil {
		return "", fmt.Errorf("cluster status: %s answered what is not a cluster status: %w", base, err)
	}
	lines := make([]string, 0, len(cs.Members))
	for _, m := range cs.Members {
		keys := "-"
		if m.Reachable {
			keys = strconv.Itoa(m.Keys)
		}
		lines = append(lines, fmt.Sprintf("%d %s %s %s %s", m.ID, m.Addr, m.Phase, m.Liveness, keys))
	}
	return strings.Join(lines, "\n"), nil
}

// adminPost POSTs to the admin API at base and returns nil on a 2xx.
func adminPost(ctx context.Context, hc *http.Client, base, path, key string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, nil)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s", errAdminKey, answerError(resp.Status, body))
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("POST %s: %s", path, answerError(resp.Status, body))
	}
	return nil
}

// answerError is the admin API's {"error": ...}, or the status and body.
func answerError(status string, body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(status + " " + string(body))
}
