package store

import (
	"slices"

	"github.com/memdb/memdb/clock"
)

// Version is one stamped state of a key: of a Register, a value, or a
// tombstone if Deleted. Kind says how it merges with other states of the
// key (kind.go); Stamp is the write that made it (of a merged state, the
// latest write in it).
type Version struct {
	Kind    Kind
	Value   []byte
	Stamp   clock.Timestamp
	Deleted bool
}

// Live reports whether v holds a value (it exists and is not a tombstone).
func (v Version) Live() bool { return !v.Stamp.IsZero() && !v.Deleted }

// Store maps keys to their latest version. It is not safe for concurrent
// use. It owns the value slices given to Apply: callers must not modify them
// afterwards.
type Store struct {
	m     map[string]Version
	bytes int
	// sorted is every key in order, built by Keys when a key was added
	// since it last was (nil then): streaming and anti-entropy ask for the
	// keys again and again while new keys are rare.
	sorted []string
	// sum is node.MutantMergeSum's planted bug (SumCounters).
	sum bool
}

// New returns an empty store.
func New() *Store { return &Store{m: make(map[string]Version)} }

// Get returns the key's latest version; ok is false if the key has none.
// A tombstone is returned with ok true and Deleted set.
func (s *Store) Get(key []byte) (v Version, ok bool) {
	v, ok = s.m[string(key)]
	return v, ok
}

// Apply merges v into the key by its kind's rule (Merge) and reports
// whether the key's state changed (false if the store already held all
// of v).
func (s *Store) Apply(key []byte, v Version) bool {
	cur, ok := s.m[string(key)]
	var changed bool
	if s.sum && cur.Kind == Counter && v.Kind == Counter && !cur.Stamp.IsZero() && !v.Stamp.IsZero() {
		v, changed = mergeSum(cur, v)
	} else {
		v, changed = Merge(cur, v)
	}
	if !changed {
		return false
	}
	if ok {
		s.bytes -= len(cur.Value)
	} else {
		s.bytes += len(key)
		s.sorted = nil
	}
	s.bytes += len(v.Value)
	s.m[string(key)] = v
	return true
}

// Len returns the number of keys, tombstones included.
func (s *Store) Len() int { return len(s.m) }

// Bytes returns the bytes held in keys and values.
func (s *Store) Bytes() int { return s.bytes }

// Keys returns every key, tombstones included, in sorted order, so that
// whatever iterates them does so deterministically. The slice is shared
// until the next key is added: callers must not modify it.
func (s *Store) Keys() []string {
	if s.sorted == nil {
		s.sorted = make([]string, 0, len(s.m))
		for k := range s.m {
			s.sorted = append(s.sorted, k)
		}
		slices.Sort(s.sorted)
	}
	return s.sorted
}
