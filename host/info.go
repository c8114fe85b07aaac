package host

import (
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/memdb/memdb/net"
)

// How one node's admin API reaches another's: it asks the member, over
// the binary protocol, as a peer (the cluster key, and with TLS the node's
// certificate), with an Info frame, which the member's host answers with
// the base URL of its admin API (InfoReply). The ring already gives every
// member's binary address, so nothing new travels in gossip and nothing
// in node/ changes; a member whose admin address changed answers the new
// one the next time it is asked. The answers are cached per binary address
// and dropped when a request to the admin API they named fails.

// Version is the memdb version this binary was built from: the module's
// version, or "devel" and the commit (with "+dirty" for a modified tree)
// when it was built from a checkout.
func Version() string { return version }

var version = buildVersion()

func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v, dirty := "devel", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if len(s.Value) > 12 {
				s.Value = s.Value[:12]
			}
			v += "-" + s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		v += "+dirty"
	}
	return v
}

// AdminURL returns the base URL other nodes and memdb reach this node's
// admin API at ("http://host:port"), or "" if it has none.
func (s *Server) AdminURL() string {
	u, _ := s.adminURL.Load().(string)
	return u
}

// makeAdminURL names the admin API: one bound to an unspecified address
// (0.0.0.0, ::) is named by the host of the address the node advertises to
// its peers.
func (s *Server) makeAdminURL() string {
	if s.httpAddr == "" {
		return ""
	}
	host, port, err := stdnet.SplitHostPort(s.httpAddr)
	if err != nil {
		return ""
	}
	if ip := stdnet.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		adv := s.cfg.Advertise
		if adv == "" {
			adv = s.Addr()
		}
		if h, _, err := stdnet.SplitHostPort(adv); err == nil {
			host = h
		}
	}
	scheme := "http://"
	if s.tls != nil {
		scheme = "https://"
	}
	return scheme + stdnet.JoinHostPort(host, port)
}

// info is this host's answer to Info.
func (s *Server) info() *net.InfoReply {
	return &net.InfoReply{Node: s.cfg.ID, Version: Version(), Admin: s.AdminURL()}
}

// adminURLs caches the admin API of members by binary address.
type adminURLs struct {
	mu   sync.Mutex
	urls map[string]string
}

func (a *adminURLs) get(addr string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.urls[addr]
	return u, ok
}

func (a *adminURLs) put(addr, url string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.urls == nil {
		a.urls = make(map[string]string)
	}
	a.urls[addr] = url
}

func (a *adminURLs) drop(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.urls, addr)
}

// errNoAdmin means a member runs without an admin API (-http "").
var errNoAdmin = errors.New("the member has no admin API (-http is empty)")

// memberAdmin returns the base URL of the admin API of the member at addr,
// asking it (askInfo) unless it is cached.
func (s *Server) memberAdmin(ctx context.Context, id uint16, addr string) (string, error) {
	if u, ok := s.admins.get(addr); ok {
		return u, nil
	}
	r, err := s.askInfo(ctx, addr)
	if err != nil {
		return "", err
	}
	if r.Node != id {
		return "", fmt.Errorf("%s answered as node %d, not %d", addr, r.Node, id)
	}
	if r.Admin == "" {
		return "", errNoAdmin
	}
	s.admins.put(addr, r.Admin)
	return r.Admin, nil
}

// askInfo asks the node at addr about its host over a connection of its
// own: TLS if this node talks TLS to its peers, the handshake as a peer,
// one Info, its answer. ctx bounds it all.
func (s *Server) askInfo(ctx context.Context, addr string) (*net.InfoReply, error) {
	var d stdnet.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	} else {
		nc.SetDeadline(time.Now().Add(10 * time.Second))
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	conn := nc
	if s.tls != nil {
		tc, err := net.StartTLS(nc, addr, s.tls.peer)
		if err != nil {
			return nil, err
		}
		conn = tc
	}
	if _, err := net.Handshake(conn, net.RolePeer, s.cfg.ID, []byte(s.cfg.ClusterKey)); err != nil {
		return nil, err
	}
	return net.AskInfo(conn)
}
