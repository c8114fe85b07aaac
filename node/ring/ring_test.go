package ring

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewRejects(t *testing.T) {
	many := make([]uint64, MaxTokens+1)
	for i := range many {
		many[i] = uint64(i)
	}
	tests := []struct {
		name    string
		members []Member
		want    error
	}{
		{"id zero", []Member{{0, []uint64{1}}}, ErrBadID},
		{"no tokens", []Member{{1, []uint64{1}}, {2, nil}}, ErrNoTokens},
		{"too many tokens", []Member{{1, many}}, ErrTooManyTokens},
		{"same id twice", []Member{{5, []uint64{1}}, {6, []uint64{2}}, {5, []uint64{3}}}, ErrDuplicateMember},
		{"shared token", []Member{{1, []uint64{10, 20}}, {2, []uint64{30, 20}}}, ErrDuplicateToken},
		{"token twice in one member", []Member{{1, []uint64{10, 10}}}, ErrDuplicateToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(1, tt.members)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New(%v) = %v, %v; want error %v", tt.members, r, err, tt.want)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestNewTooManyRingTokens(t *testing.T) {
	var ms []Member
	for id := 1; id*MaxTokens <= MaxRingTokens; id++ {
		ms = append(ms, Member{uint16(id), VirtualTokens(uint16(id), MaxTokens)})
	}
	if _, err := New(1, ms); err != nil {
		t.Fatalf("a ring of exactly %d tokens: %v", MaxRingTokens, err)
	}
	ms = append(ms, Member{uint16(len(ms) + 1), []uint64{1}})
	if _, err := New(1, ms); !errors.Is(err, ErrTooManyTokens) {
		t.Fatalf("a ring of %d tokens: got %v, want %v", MaxRingTokens+1, err, ErrTooManyTokens)
	}
}

func TestNewCanonicalizes(t *testing.T) {
	in := []Member{{3, []uint64{300}}, {1, []uint64{400, 100}}, {2, []uint64{200}}}
	r := mustNew(t, 7, in)
	want := []Member{{1, []uint64{100, 400}}, {2, []uint64{200}}, {3, []uint64{300}}}
	if diff := cmp.Diff(want, r.Members()); diff != "" {
		t.Errorf("Members() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint16{1, 2, 3}, r.IDs()); diff != "" {
		t.Errorf("IDs() (-want +got):\n%s", diff)
	}
	if !r.Equal(hand(t)) {
		t.Errorf("%v is not Equal to %v", r, hand(t))
	}

	// New copied its input and Members returns copies: mutating either
	// leaves the ring alone.
	in[1].Tokens[0] = 999
	r.Members()[0].Tokens[0] = 999
	r.Tokens(1)[0] = 999
	if diff := cmp.Diff(want, r.Members()); diff != "" {
		t.Errorf("ring changed after mutating what went in or came out (-want +got):\n%s", diff)
	}
	if got := r.String(); got != "ring@7{1:2 2:1 3:1}" {
		t.Errorf("String() = %q", got)
	}
}

func TestAccessors(t *testing.T) {
	r := hand(t)
	if r.Epoch() != 7 || r.Len() != 3 || !r.Has(2) || r.Has(4) || r.Tokens(4) != nil {
		t.Errorf("Epoch %d Len %d Has(2) %v Has(4) %v Tokens(4) %v",
			r.Epoch(), r.Len(), r.Has(2), r.Has(4), r.Tokens(4))
	}
	var zero Ring
	if zero.Len() != 0 || zero.Epoch() != 0 || zero.Replicas([]byte("k"), 3) != nil || zero.Ranges(1, 1) != nil {
		t.Errorf("the zero Ring is not the empty ring: %v", zero)
	}
	if _, ok := zero.Owner([]byte("k")); ok {
		t.Errorf("the empty ring has an owner")
	}
}

func TestWithWithout(t *testing.T) {
	r := hand(t)
	joined, err := r.With(Member{4, []uint64{250}})
	if err != nil {
		t.Fatal(err)
	}
	if joined.Epoch() != 8 || !joined.Has(4) || joined.Len() != 4 {
		t.Errorf("With: got %v, want epoch 8 with node 4", joined)
	}
	left, err := joined.Without(4)
	if err != nil {
		t.Fatal(err)
	}
	if left.Epoch() != 9 || left.Has(4) || !left.Equal(mustNew(t, 9, hand(t).Members())) {
		t.Errorf("Without: got %v, want the hand ring at epoch 9", left)
	}

	if _, err := r.With(Member{2, []uint64{5}}); !errors.Is(err, ErrDuplicateMember) {
		t.Errorf("With an existing member: %v, want %v", err, ErrDuplicateMember)
	}
	if _, err := r.With(Member{4, []uint64{300}}); !errors.Is(err, ErrDuplicateToken) {
		t.Errorf("With a taken token: %v, want %v", err, ErrDuplicateToken)
	}
	if _, err := r.Without(9); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("Without a stranger: %v, want %v", err, ErrUnknownMember)
	}
	last := mustNew(t, ^uint64(0), []Member{{1, []uint64{1}}})
	if _, err := last.With(Member{2, []uint64{2}}); !errors.Is(err, ErrEpoch) {
		t.Errorf("With at the last epoch: %v, want %v", err, ErrEpoch)
	}
	if _, err := last.Without(1); !errors.Is(err, ErrEpoch) {
		t.Errorf("Without at the last epoch: %v, want %v", err, ErrEpoch)
	}
	one := mustNew(t, 1, []Member{{1, []uint64{1}}})
	if empty, err := one.Without(1); err != nil || empty.Len() != 0 {
		t.Errorf("removing the last member: %v, %v; want the empty ring", empty, err)
	}
}

func TestVirtualTokens(t *testing.T) {
	// The derivation is a contract: every node must compute the same tokens
	// for the same member, whatever version of this code it runs.
	if got, want := VirtualTokens(7, 2), []uint64{Hash([]byte("7/0")), Hash([]byte("7/1"))}; !cmp.Equal(got, want) {
		t.Errorf("VirtualTokens(7, 2) = %x, want %x", got, want)
	}
	if got := VirtualTokens(7, 0); got != nil {
		t.Errorf("VirtualTokens(7, 0) = %v, want nil", got)
	}
	// farm.Fingerprint64 is stable; pin one value so a swapped hash fails.
	if got, want := Hash([]byte("hello")), uint64(0xb48be5a931380ce8); got != want {
		t.Errorf("Hash(hello) = %#x, want %#x", got, want)
	}
}
