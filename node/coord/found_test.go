package coord

import (
	"slices"
	"testing"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/quorum"
	"github.com/memdb/memdb/node/store"
)

// Bugs found while cutting coordination out of the node (PAPER §4, bugs
// 32–34). Each test failed before its fix.

func ver(c uint64) store.Version {
	return store.Version{Value: []byte{byte(c)}, Stamp: clock.Timestamp{Counter: c, Node: 1}}
}

// Bug 32: a quorum read met its level with 1@5 and 2@3, began repairing 2
// with 5, and then 3 answered 8; once 2 acknowledged, the read answered 8
// — on replica 3 alone — so a later quorum read of 1 and 2 could return
// the older 5. The read answers what it repaired onto a quorum.
func TestReadAnswersWhatItRepaired(t *testing.T) {
	rd := NewRead([]byte("k"), net.Quorum, quorum.Joint{{1, 2, 3}}, false)
	for _, r := range []uint16{1, 2, 3} {
		rd.Ask(r)
	}
	rd.Answer(1, ver(5))
	if s := rd.Answer(2, ver(3)); !s.Wait || !slices.Equal(s.Repair, []uint16{2}) {
		t.Fatalf("quorum of 5 and 3: step %+v, want a waiting repair of 2", s)
	}
	// Replica 3's newer state covers 5: with replica 1, that is a quorum
	// holding 5 or later, and the read answers 5 without waiting for 2.
	s := rd.Answer(3, ver(8))
	if s.Reply != Answer {
		t.Fatalf("after 3's answer: step %+v, want the answer", s)
	}
	if rd.Result.Stamp != ver(5).Stamp {
		t.Errorf("the read answers %v, which is on replica 3 only; want 5, on replicas 1 and 2", rd.Result.Stamp)
	}
	if rd.Newest.Stamp != ver(8).Stamp {
		t.Errorf("Newest %v, want 8: late answers still repair the others in the background", rd.Newest.Stamp)
	}
}

// Bug 33: the repairs a quorum read waits for were its own Repairing list,
// which a repair answered at once (the coordinator's own) shrank while the
// node walked it: the next stale replica was skipped, a repair went to
// replica 0, and the read timed out waiting for the skipped one.
func TestRepairListIsStable(t *testing.T) {
	rd := NewRead([]byte("k"), net.Quorum, quorum.Joint{{1, 2, 3, 4, 5}}, false)
	for _, r := range []uint16{1, 2, 3, 4, 5} {
		rd.Ask(r)
	}
	rd.Answer(1, ver(3))
	rd.Answer(2, ver(4))
	s := rd.Answer(3, ver(9))
	if !s.Wait || !slices.Equal(s.Repair, []uint16{1, 2}) {
		t.Fatalf("step %+v, want a waiting repair of 1 and 2", s)
	}
	var sent []uint16
	for _, r := range s.Repair {
		sent = append(sent, r)
		if r == 1 {
			rd.Repaired(1, true) // the coordinator's own repair, answered at once
		}
	}
	if !slices.Equal(sent, []uint16{1, 2}) {
		t.Errorf("repairs sent to %v while the first was answered, want [1 2]", sent)
	}
}

// Bug 34: a replica down when the write was sent was hinted then, stayed
// unanswered, and was hinted again when the write timed out.
func TestHintedOnce(t *testing.T) {
	w := NewWrite(net.Entry{Key: []byte("k"), Stamp: clock.Timestamp{Counter: 1, Node: 1}}, net.Quorum, quorum.Joint{{1, 2, 3}}, []uint16{1, 2, 3}, 1)
	if !w.Hint(3) {
		t.Fatal("the first hint of 3 was refused")
	}
	if w.Hint(3) {
		t.Error("3 was hinted twice")
	}
	w.Answer(1, true)
	w.Answer(2, false) // refused: hinted by Answer
	if s := w.TimedOut(); slices.Contains(s.Hint, 3) || slices.Contains(s.Hint, 2) {
		t.Errorf("timeout hints %v: 3 was hinted when the write was sent, 2 when it refused", s.Hint)
	}
}
