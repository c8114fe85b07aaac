package ring

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// MaxTokens is the most tokens one member may own, and MaxRingTokens the
// most a whole ring may hold. They bound what a ring costs to build, and so
// what a hostile or corrupt encoding can make Decode allocate: 256 virtual
// nodes for each of 4096 members fit.
const (
	MaxTokens     = 4096
	MaxRingTokens = 1 << 20
)

// Errors New, With and Without return, wrapped with the member at fault.
var (
	// ErrBadID: a member has node id 0, which no node may have.
	ErrBadID = errors.New("ring: node id 0 is reserved")
	// ErrDuplicateMember: two members have the same node id, or With was
	// given a node the ring already has.
	ErrDuplicateMember = errors.New("ring: duplicate member")
	// ErrUnknownMember: Without was given a node the ring does not have.
	ErrUnknownMember = errors.New("ring: unknown member")
	// ErrNoTokens: a member owns no token, so it would own no key.
	ErrNoTokens = errors.New("ring: member has no tokens")
	// ErrTooManyTokens: a member owns more than MaxTokens tokens, or the ring
	// more than MaxRingTokens.
	ErrTooManyTokens = errors.New("ring: too many tokens")
	// ErrDuplicateToken: a token is owned twice, by two members or by one.
	ErrDuplicateToken = errors.New("ring: duplicate token")
	// ErrEpoch: With or Without was called on a ring whose epoch cannot grow.
	ErrEpoch = errors.New("ring: epoch would overflow")
)

// Member is one node of a ring and the tokens it owns. A node owns the
// range of the ring that ends at each of its tokens (see Range).
type Member struct {
	ID     uint16
	Tokens []uint64
}

// Ring is an immutable consistent-hashing ring at one epoch: who owns which
// tokens. Every method is a pure function of the members and the epoch, so
// nodes that agree on those agree on every key's replicas. The zero Ring is
// the empty ring at epoch 0: every key has no replica.
//
// A Ring is a value: copy it freely, from any goroutine. Nothing it returns
// aliases its internals.
type Ring struct {
	epoch   uint64
	members []Member // ascending ID, each member's Tokens ascending
	tokens  []uint64 // every token, ascending
	owners  []uint16 // owners[i] is the node that owns tokens[i]
}

// New builds the ring at epoch from members, given in any order. Each member
// needs a nonzero id no other member has, and 1..MaxTokens tokens no other
// member (nor itself) owns; the ring may hold at most MaxRingTokens. New
// copies members: the caller may reuse them.
func New(epoch uint64, members []Member) (Ring, error) {
	total := 0
	for i, m := range members {
		switch {
		case m.ID == 0:
			return Ring{}, fmt.Errorf("member %d: %w", i, ErrBadID)
		case len(m.Tokens) == 0:
			return Ring{}, fmt.Errorf("member %d (node %d): %w", i, m.ID, ErrNoTokens)
		case len(m.Tokens) > MaxTokens:
			return Ring{}, fmt.Errorf("member %d (node %d) has %d tokens, more than %d: %w",
				i, m.ID, len(m.Tokens), MaxTokens, ErrTooManyTokens)
		}
		total += len(m.Tokens)
		if total > MaxRingTokens {
			return Ring{}, fmt.Errorf("ring holds more than %d tokens: %w", MaxRingTokens, ErrTooManyTokens)
		}
	}

	r := Ring{epoch: epoch, members: make([]Member, len(members))}
	for i, m := range members {
		r.members[i] = Member{ID: m.ID, Tokens: slices.Clone(m.Tokens)}
		slices.Sort(r.members[i].Tokens)
	}
	slices.SortFunc(r.members, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	for i := 1; i < len(r.members); i++ {
		if r.members[i].ID == r.members[i-1].ID {
			return Ring{}, fmt.Errorf("node %d is listed twice: %w", r.members[i].ID, ErrDuplicateMember)
		}
	}

	type owned struct {
		token uint64
		id    uint16
	}
	all := make([]owned, 0, total)
	for _, m := range r.members {
		for _, t := range m.Tokens {
			all = append(all, owned{t, m.ID})
		}
	}
	slices.SortFunc(all, func(a, b owned) int {
		if c := cmp.Compare(a.token, b.token); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	r.tokens = make([]uint64, len(all))
	r.owners = make([]uint16, len(all))
	for i, o := range all {
		if i > 0 && o.token == all[i-1].token {
			if o.id == all[i-1].id {
				return Ring{}, fmt.Errorf("token %#016x is listed twice by node %d: %w", o.token, o.id, ErrDuplicateToken)
			}
			return Ring{}, fmt.Errorf("token %#016x is owned by node %d and node %d: %w",
				o.token, all[i-1].id, o.id, ErrDuplicateToken)
		}
		r.tokens[i], r.owners[i] = o.token, o.id
	}
	return r, nil
}

// Epoch is the ring's epoch: the number of the agreed topology change that
// produced it. Rings with equal epochs in one cluster are equal rings.
func (r Ring) Epoch() uint64 { return r.epoch }

// Len is the number of members.
func (r Ring) Len() int { return len(r.members) }

// IDs are the members' node ids, ascending.
func (r Ring) IDs() []uint16 {
	ids := make([]uint16, len(r.members))
	for i, m := range r.members {
		ids[i] = m.ID
	}
	return ids
}

// Members are the members, by ascending id, each with its tokens ascending.
// The result is a copy.
func (r Ring) Members() []Member {
	ms := make([]Member, len(r.members))
	for i, m := range r.members {
		ms[i] = Member{ID: m.ID, Tokens: slices.Clone(m.Tokens)}
	}
	return ms
}

// Has reports whether node id is a member.
func (r Ring) Has(id uint16) bool {
	_, ok := r.find(id)
	return ok
}

// Tokens are the tokens node id owns, ascending; nil if it is not a member.
func (r Ring) Tokens(id uint16) []uint64 {
	i, ok := r.find(id)
	if !ok {
		return nil
	}
	return slices.Clone(r.members[i].Tokens)
}

func (r Ring) find(id uint16) (int, bool) {
	return slices.BinarySearchFunc(r.members, id, func(m Member, id uint16) int { return cmp.Compare(m.ID, id) })
}

// With is the ring at the next epoch with m added: a join. It fails with
// ErrDuplicateMember if m.ID is already a member, and otherwise as New does.
func (r Ring) With(m Member) (Ring, error) {
	if r.epoch == math.MaxUint64 {
		return Ring{}, ErrEpoch
	}
	if r.Has(m.ID) {
		return Ring{}, fmt.Errorf("add node %d: %w", m.ID, ErrDuplicateMember)
	}
	return New(r.epoch+1, append(r.Members(), m))
}

// Without is the ring at the next epoch with node id removed: a leave. It
// fails with ErrUnknownMember if id is not a member. Removing the last member
// leaves the empty ring.
func (r Ring) Without(id uint16) (Ring, error) {
	if r.epoch == math.MaxUint64 {
		return Ring{}, ErrEpoch
	}
	i, ok := r.find(id)
	if !ok {
		return Ring{}, fmt.Errorf("remove node %d: %w", id, ErrUnknownMember)
	}
	ms := r.Members()
	return New(r.epoch+1, slices.Delete(ms, i, i+1))
}

// Equal reports whether r and o have the same epoch, members and tokens.
func (r Ring) Equal(o Ring) bool {
	return r.epoch == o.epoch && slices.EqualFunc(r.members, o.members, func(a, b Member) bool {
		return a.ID == b.ID && slices.Equal(a.Tokens, b.Tokens)
	})
}

// String describes the ring briefly, for logs: its epoch, members and how
// many tokens it has.
func (r Ring) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ring@%d{", r.epoch)
	for i, m := range r.members {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%d", m.ID, len(m.Tokens))
	}
	b.WriteByte('}')
	return b.String()
}
