package paxos

import (
	"slices"
	"testing"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"pgregory.net/rapid"
)

// Properties of a round driven by arbitrary answers: any acceptor may
// promise, refuse, fail, stay silent or answer out of turn, with any
// state. Reproduce a failure with the -rapid.seed the failure prints:
//
//	go test ./node/paxos -run TestRoundProperties -rapid.seed=N

func drawJoint(t *rapid.T) quorum.Joint {
	var j quorum.Joint
	for range rapid.IntRange(1, 2).Draw(t, "groups") {
		g := rapid.SliceOfNDistinct(rapid.Uint16Range(1, 5), 1, 4, rapid.ID).Draw(t, "group")
		slices.Sort(g)
		j = append(j, g)
	}
	return j
}

func drawStamp(t *rapid.T, label string) clock.Timestamp {
	if rapid.Bool().Draw(t, label+" zero") {
		return clock.Timestamp{}
	}
	return clock.Timestamp{Counter: rapid.Uint64Range(1, 60).Draw(t, label), Node: rapid.Uint16Range(1, 3).Draw(t, label+" node")}
}

// drawAnswer is an acceptor's answer to phase s (nil: none in time).
func drawAnswer(t *rapid.T, s Send) net.Message {
	kind := rapid.IntRange(0, 9).Draw(t, "answer kind")
	switch {
	case kind == 0:
		return nil
	case kind == 1:
		return &net.Error{Code: net.CodeUnavailable}
	case kind == 2: // out of turn: any phase's answer
		s.Kind = rapid.SampledFrom([]PhaseKind{Prepare, Propose, Peek}).Draw(t, "other phase")
	}
	acc, ver := drawStamp(t, "accepted"), drawStamp(t, "version")
	found := rapid.Bool().Draw(t, "found")
	val := []byte(rapid.SampledFrom([]string{"a", "b", "z"}).Draw(t, "value"))
	switch s.Kind {
	case Prepare:
		if rapid.IntRange(0, 3).Draw(t, "refuse") == 0 {
			return &net.Promise{Promised: drawStamp(t, "promised")}
		}
		return &net.Promise{OK: true, Promised: s.Ballot, Accepted: acc, Value: val, Found: found, Version: ver, Current: val}
	case Propose:
		if rapid.IntRange(0, 2).Draw(t, "refuse") == 0 {
			return &net.Accepted{Promised: drawStamp(t, "promised"), Accepted: acc}
		}
		return &net.Accepted{OK: true, Promised: s.Ballot, Accepted: s.Ballot}
	}
	return &net.AcceptorState{Accepted: acc, Value: val, Found: found, Version: ver, Current: val}
}

// mayHaveTaken reports whether answer m to an own proposal at ballot says
// the acceptor may hold that proposal: anything but a refusal that shows
// it never accepted it. An error does not show that: it may answer a
// duplicate of a proposal the acceptor took.
func mayHaveTaken(m net.Message, ballot clock.Timestamp) bool {
	switch a := m.(type) {
	case *net.Accepted:
		return a.OK || !a.Accepted.Less(ballot)
	}
	return true
}

func TestRoundProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		groups := drawJoint(t)
		all := groups.All()
		req := Request{Kind: rapid.SampledFrom([]Kind{CAS, Read, Put}).Draw(t, "kind"), Key: k,
			OldFound: rapid.Bool().Draw(t, "old found"), Old: []byte("a"), Value: []byte("new")}
		r := NewRound(req, Proposer{ID: 1})
		counter := uint64(10)
		prepare := func() Send {
			counter += 10
			return r.Prepare(clock.Timestamp{Counter: counter, Node: 1}, groups, all)
		}
		var s Send
		if req.Kind == Read && rapid.Bool().Draw(t, "peek") {
			s = r.Peek(groups, all)
		} else {
			s = prepare()
		}
		var stale []Send              // phases that are over
		ownMayBeTaken := false        // an own proposal may be accepted somewhere
		var answered []uint16         // who answered the current phase
		var yes []uint16              // who said yes to the current phase
		var seen []*net.AcceptorState // what the current phase's yes answers showed
		for !r.Done() {
			if len(stale) > 0 && rapid.IntRange(0, 5).Draw(t, "late") == 0 {
				old := rapid.SampledFrom(stale).Draw(t, "stale phase")
				if _, counted := r.Answer(old.Seq, old.Asked[0], drawAnswer(t, old)); counted {
					t.Fatalf("an answer to phase %d was counted in phase %d", old.Seq, s.Seq)
				}
				continue
			}
			left := slices.DeleteFunc(slices.Clone(s.Asked), func(id uint16) bool { return slices.Contains(answered, id) })
			if len(left) == 0 {
				t.Fatalf("every acceptor answered phase %d (%v) and the round still waits", s.Seq, s.Kind)
			}
			from := rapid.SampledFrom(left).Draw(t, "from")
			m := drawAnswer(t, s)
			answered = append(answered, from)
			if s.Kind == Propose && s.Ours && mayHaveTaken(m, s.Ballot) {
				ownMayBeTaken = true
			}
			switch a := m.(type) {
			case *net.Promise:
				if a.OK && s.Kind == Prepare {
					yes = append(yes, from)
					seen = append(seen, &net.AcceptorState{Accepted: a.Accepted, Version: a.Version})
				}
			case *net.Accepted:
				if a.OK && s.Kind == Propose {
					yes = append(yes, from)
				}
			case *net.AcceptorState:
				if s.Kind == Peek {
					yes = append(yes, from)
					seen = append(seen, a)
				}
			}
			st, counted := r.Answer(s.Seq, from, m)
			if !counted {
				t.Fatalf("an answer to the current phase %d was not counted", s.Seq)
			}
			if st.Commit && (s.Kind != Propose || !groups.Met(net.Quorum, yes) || st.Chosen.Ballot != s.Ballot) {
				t.Fatalf("committed %+v after phase %v at %v accepted by %v of %v", st.Chosen, s.Kind, s.Ballot, yes, groups)
			}
			if ownMayBeTaken && !(st.Do == Wait || st.Do == Reply && st.Why == Chosen || st.Do == Fail && st.Why == Unknown) {
				t.Fatalf("the client's value may be accepted, and the round does %v (%v)", st.Do, st.Why)
			}
			switch st.Do {
			case Wait:
				continue
			case Reply:
				checkReply(t, req, s, st, yes, seen, groups)
			case Fail:
				if st.Why != Unknown || !ownMayBeTaken {
					t.Fatalf("failed with %v (%v) before the deadline", st.Code, st.Why)
				}
			case SendOut:
				stale, answered, yes, seen = append(stale, s), nil, nil, nil
				s = st.Send
			case Retry, Attempt:
				stale, answered, yes, seen = append(stale, s), nil, nil, nil
				if st.Do == Retry && rapid.IntRange(0, 3).Draw(t, "deadline") == 0 {
					if g := r.GiveUp(); g.Do != Fail || g.Why == Unknown {
						t.Fatalf("gave up with %+v", g)
					}
					break
				}
				s = prepare()
			}
		}
	})
}

// checkReply checks the answer st that phase s of a round for req led to,
// whose yes answers came from yes and showed seen.
func checkReply(t *rapid.T, req Request, s Send, st Step, yes []uint16, seen []*net.AcceptorState, groups quorum.Joint) {
	if !groups.Met(net.Quorum, yes) {
		t.Fatalf("answered %v with only %v of %v saying yes to phase %v", st.Reply, yes, groups, s.Kind)
	}
	switch req.Kind {
	case CAS:
		b, ok := st.Reply.(*net.Bool)
		if !ok || b.Value != (st.Why == Chosen) || b.Value && !st.Commit {
			t.Fatalf("cas answered %v (%v, commit %v)", st.Reply, st.Why, st.Commit)
		}
	case Put:
		if d, ok := st.Reply.(*net.Done); !ok || st.Why != Chosen || !st.Commit || d.Version != s.Ballot {
			t.Fatalf("put answered %v (%v, commit %v) at %v", st.Reply, st.Why, st.Commit, s.Ballot)
		}
	case Read:
		v, ok := st.Reply.(*net.Value)
		if !ok {
			t.Fatalf("read answered %T", st.Reply)
		}
		if st.Commit {
			// It finished a proposal and answers it: chosen at s.Ballot.
			if v.Version != s.Ballot {
				t.Fatalf("read finished %v and answered %v", s.Ballot, v.Version)
			}
			return
		}
		// Never older than a version, nor than a proposal in progress,
		// that the deciding quorum showed; and always a version shown.
		shown := false
		for _, a := range seen {
			if v.Version.Less(a.Version) || v.Version.Less(a.Accepted) {
				t.Fatalf("read answered %v; an acceptor showed version %v, accepted %v", v.Version, a.Version, a.Accepted)
			}
			shown = shown || a.Version == v.Version
		}
		if !shown {
			t.Fatalf("read answered %v, a version none of %v showed", v.Version, yes)
		}
	}
}
