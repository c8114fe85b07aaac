package client

import (
	"sync"

	"github.com/memdb/memdb/clock"
)

// session holds the highest Lamport timestamp the client has seen. Every
// request carries it, so a node stamps the client's next write after
// everything the client has observed (see the package doc).
type session struct {
	mu  sync.Mutex
	max clock.Timestamp
}

// now returns the highest timestamp seen so far.
func (s *session) now() clock.Timestamp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// observe raises the session to t if t is later.
func (s *session) observe(t clock.Timestamp) {
	s.mu.Lock()
	s.max = s.max.Max(t)
	s.mu.Unlock()
}
