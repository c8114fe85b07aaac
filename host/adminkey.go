package host

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	stdnet "net"
	"net/http"
	"strings"
)

// The admin key (-admin-key): with one set, every request of the admin API
// but GET and HEAD — and every one under /debug/ (Go's profiles), GETs
// included — must carry "Authorization: Bearer KEY", or is answered 401. The key is compared in constant time, through SHA-256 digests so
// that even its length does not show, and it is never logged nor echoed.
// There is no key built into the binary: without -admin-key the admin API
// is as open as its address (memdbd warns when that is beyond loopback).

// adminKeyOK reports whether an Authorization header carries key.
func adminKeyOK(header, key string) bool {
	const scheme = "Bearer "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return false
	}
	got := sha256.Sum256([]byte(header[len(scheme):]))
	want := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

var (
	errAdminKeyMissing = errors.New("this node requires the admin key: send Authorization: Bearer KEY (memdb -admin-key KEY)")
	errAdminKeyWrong   = errors.New("wrong admin key")
)

// requireAdminKey wraps the admin API's handler with the admin key check.
func (s *Server) requireAdminKey(next http.Handler) http.Handler {
	if s.cfg.AdminKey == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !strings.HasPrefix(r.URL.Path, "/debug/") {
			next.ServeHTTP(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		if adminKeyOK(h, s.cfg.AdminKey) {
			next.ServeHTTP(w, r)
			return
		}
		err := errAdminKeyWrong
		if h == "" {
			err = errAdminKeyMissing
		}
		s.log.Info("admin API: refused a request without the right admin key", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "key_given", h != "")
		w.Header().Set("WWW-Authenticate", `Bearer realm="memdb admin"`)
		writeError(w, http.StatusUnauthorized, err)
	})
}

// loopback reports whether addr's host is a loopback address or name.
func loopback(addr string) bool {
	host, _, err := stdnet.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := stdnet.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
