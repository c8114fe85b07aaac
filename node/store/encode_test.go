package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/oplog"
)

// Every encoding of a state gives it back whole: entries, log records and
// read answers.
func TestEncodingsRoundTrip(t *testing.T) {
	for _, v := range []Version{
		{Value: []byte("v"), Stamp: ts(3, 1)},
		{Value: []byte{}, Stamp: ts(4, 2)},
		{Deleted: true, Stamp: ts(5, 3)},
	} {
		if diff := cmp.Diff(v, FromEntry(Entry([]byte("k"), v))); diff != "" {
			t.Errorf("entry round trip (-want +got):\n%s", diff)
		}
		r := Record([]byte("k"), v)
		if r.Origin != v.Stamp.Node || r.Seq != v.Stamp.Counter {
			t.Errorf("record of %v: origin %d seq %d, want the stamp's node and counter", v, r.Origin, r.Seq)
		}
		want := v
		if v.Deleted {
			want.Value = nil
		}
		got, tag, err := FromRecord(r)
		if err != nil || tag != nil {
			t.Errorf("record of %v: tag %q, error %v", v, tag, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("record round trip (-want +got):\n%s", diff)
		}
		m, ok := ReadAnswer(v, false).(*net.Value)
		if !ok {
			t.Fatalf("ReadAnswer(%v) = %T, want a Value", v, ReadAnswer(v, false))
		}
		if got, err := FromAnswer(m); err != nil || got.Stamp != v.Stamp || got.Live() != v.Live() || string(got.Value) != string(v.Value) {
			t.Errorf("read answer round trip: %v, want %v", got, v)
		}
		if b := ReadAnswer(v, true).(*net.Bool); b.Value != v.Live() {
			t.Errorf("contains of %v = %v", v, b.Value)
		}
	}
	if r := Record([]byte("k"), Version{Deleted: true, Stamp: ts(1, 1)}); r.Type != oplog.TypeDelete || r.Value != nil {
		t.Errorf("a tombstone's record is %v with value %q", r.Type, r.Value)
	}
}
