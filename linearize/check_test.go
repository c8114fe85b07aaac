package linearize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

const ms = time.Millisecond

// op builds an Op tersely: times in milliseconds.
func op(proc int, k Kind, key string, call, ret int, out Outcome, found bool, val string) Op {
	o := Op{Process: proc, Kind: k, Key: key, Call: time.Duration(call) * ms, Return: time.Duration(ret) * ms, Outcome: out, Found: found}
	switch k {
	case Set:
		o.Value = val
	case Get:
		o.Output = val
	}
	return o
}

func wipe(at int) Op {
	return Op{Process: 9, Kind: Wipe, Call: time.Duration(at) * ms, Return: time.Duration(at) * ms, Outcome: OK, Node: 1}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		h      History
		ok     bool
		badKey string
	}{
		{"empty", nil, true, ""},
		{"read own write", History{
			op(0, Set, "a", 0, 1, OK, false, "v1"),
			op(0, Get, "a", 2, 3, OK, true, "v1"),
		}, true, ""},
		{"stale read", History{
			op(0, Set, "a", 0, 1, OK, false, "v1"),
			op(0, Set, "a", 2, 3, OK, false, "v2"),
			op(1, Get, "a", 4, 5, OK, true, "v1"),
		}, false, "a"},
		{"concurrent read may see either", History{
			op(0, Set, "a", 0, 1, OK, false, "v1"),
			op(0, Set, "a", 2, 6, OK, false, "v2"),
			op(1, Get, "a", 3, 4, OK, true, "v1"),
			op(2, Get, "a", 3, 5, OK, true, "v2"),
		}, true, ""},
		{"read of a value never written", History{
			op(1, Get, "b", 0, 1, OK, true, "ghost"),
		}, false, "b"},
		{"failed write must not be seen", History{
			op(0, Set, "a", 0, 1, Failed, false, "v1"),
			op(1, Get, "a", 2, 3, OK, true, "v1"),
		}, false, "a"},
		{"unknown write may be seen later", History{
			op(0, Set, "a", 0, 1, Unknown, false, "v1"),
			op(1, Get, "a", 2, 3, OK, false, ""),
			op(1, Get, "a", 40, 41, OK, true, "v1"),
		}, true, ""},
		{"unknown write may never happen", History{
			op(0, Set, "a", 0, 1, Unknown, false, "v1"),
			op(1, Contains, "a", 40, 41, OK, false, ""),
		}, true, ""},
		{"unknown write cannot act before its call", History{
			op(1, Get, "a", 0, 1, OK, true, "v1"),
			op(0, Set, "a", 5, 6, Unknown, false, "v1"),
		}, false, "a"},
		{"delete then contains", History{
			op(0, Set, "a", 0, 1, OK, false, "v1"),
			op(0, Delete, "a", 2, 3, OK, false, ""),
			op(0, Contains, "a", 4, 5, OK, true, ""),
		}, false, "a"},
		{"wipe empties every key", History{
			op(0, Set, "a", 0, 1, OK, false, "v1"),
			op(1, Set, "b", 0, 1, OK, false, "w1"),
			wipe(10),
			op(0, Get, "a", 11, 12, OK, false, ""),
			op(1, Contains, "b", 11, 12, OK, false, ""),
		}, true, ""},
		{"a value survives a wipe", History{
			op(0, Set, "a", 0, 1, OK, false, "v1"),
			op(1, Set, "b", 0, 1, OK, false, "w1"),
			wipe(10),
			op(0, Get, "a", 11, 12, OK, false, ""),
			op(1, Get, "b", 11, 12, OK, true, "w1"),
		}, false, "b"},
		{"first failing key in sorted order", History{
			op(1, Get, "z", 0, 1, OK, true, "ghost"),
			op(1, Get, "c", 0, 1, OK, true, "ghost"),
		}, false, "c"},
		{"unknown reads are ignored", History{
			op(1, Get, "a", 0, 1, Unknown, true, "ghost"),
		}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(tc.h, 0)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != tc.ok || res.Key != tc.badKey {
				t.Errorf("Check(%v) = ok %t key %q, want ok %t key %q", tc.h, res.OK, res.Key, tc.ok, tc.badKey)
			}
		})
	}
}

func TestCheckRejectsBadHistory(t *testing.T) {
	for _, h := range []History{
		{{Kind: Get, Outcome: OK}},                        // no key
		{{Kind: Kind(77), Key: "a", Outcome: OK}},         // unknown kind
		{{Kind: Get, Key: "a"}},                           // no outcome
		{{Kind: Get, Key: "a", Outcome: OK, Call: 5}},     // returns before its call
		{{Kind: Wipe, Key: "a", Outcome: OK}},             // wipe with a key
		{{Kind: Get, Key: "a", Outcome: OK, Process: -1}}, // negative process
	} {
		if _, err := Check(h, 0); !errors.Is(err, ErrBadHistory) {
			t.Errorf("Check(%+v) error = %v, want ErrBadHistory", h, err)
		}
	}
}

// TestWrongModelFails proves the checker depends on the model: with a step
// function that ignores wipes, a correct history with a crash is rejected.
func TestWrongModelFails(t *testing.T) {
	h := History{
		op(0, Set, "a", 0, 1, OK, false, "v1"),
		wipe(10),
		op(0, Get, "a", 11, 12, OK, false, ""),
	}
	if res, _ := Check(h, 0); !res.OK {
		t.Fatalf("the right model rejects %v", h)
	}
	durable := func(s State, in Input, out Output) (bool, State) {
		if in.Kind == Wipe {
			return true, s
		}
		return Step(s, in, out)
	}
	res, err := CheckModel(ModelWith(durable), h, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK {
		t.Errorf("a model without wipes accepts %v", h)
	}
}

func TestWriteHTML(t *testing.T) {
	h := History{
		op(0, Set, "a", 0, 1, OK, false, "v1"),
		op(1, Get, "a", 2, 3, OK, true, "v0"),
	}
	res, err := Check(h, 0)
	if err != nil || res.OK {
		t.Fatalf("Check = %+v, %v; want a violation", res, err)
	}
	path := filepath.Join(t.TempDir(), "history.html")
	if err := res.WriteHTML(path, []Window{{Tag: "node 1", Start: 1 * ms, End: 2 * ms, Description: "down"}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.Visualize(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "set(a, v1)") {
		t.Errorf("visualisation does not describe the operations")
	}
	ok, _ := Check(h[:1], 0)
	if err := ok.Visualize(&buf, nil); err == nil {
		t.Errorf("Visualize of a passing result did not fail")
	}
}

func TestHistoryJSON(t *testing.T) {
	h := History{op(0, Set, "a", 0, 1, OK, false, "v1"), op(1, Get, "a", 2, 3, Unknown, false, ""), wipe(5)}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"op":"set"`) || !strings.Contains(string(b), `"outcome":"unknown"`) {
		t.Errorf("JSON does not name kinds and outcomes: %s", b)
	}
	var got History
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(h) {
		t.Errorf("round trip: got %v, want %v", got, h)
	}
	if err := json.Unmarshal([]byte(`[{"op":"swap"}]`), &got); !errors.Is(err, ErrBadHistory) {
		t.Errorf("unknown op: error %v, want ErrBadHistory", err)
	}
}

// TestSequentialHistories is a property: any history produced by running
// random operations one after another against the model is linearizable,
// and changing one read's answer to a value never written makes it not.
func TestSequentialHistories(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		keys := []string{"a", "b", "c"}
		state := map[string]State{}
		var h History
		n := rapid.IntRange(1, 60).Draw(t, "n")
		for i := range n {
			key := rapid.SampledFrom(keys).Draw(t, "key")
			kind := rapid.SampledFrom([]Kind{Get, Set, Delete, Contains, Wipe}).Draw(t, "kind")
			o := Op{Process: i % 3, Kind: kind, Key: key, Call: time.Duration(2 * i), Return: time.Duration(2*i + 1), Outcome: OK}
			s := state[key]
			switch kind {
			case Get:
				o.Found, o.Output = s.Found, s.Value
			case Contains:
				o.Found = s.Found
			case Set:
				o.Value = fmt.Sprintf("v%d", i)
				state[key] = State{Found: true, Value: o.Value}
			case Delete:
				state[key] = State{}
			case Wipe:
				o.Key, o.Process = "", 3
				clear(state)
			}
			h = append(h, o)
		}
		res, err := Check(h, 0)
		if err != nil || !res.OK {
			t.Fatalf("sequential history rejected (%v): %v", err, h)
		}
		var reads []int
		for i, o := range h {
			if o.Kind == Get {
				reads = append(reads, i)
			}
		}
		if len(reads) == 0 {
			return
		}
		i := rapid.SampledFrom(reads).Draw(t, "corrupt")
		h[i].Found, h[i].Output = true, "never-written"
		if res, _ := Check(h, 0); res.OK {
			t.Fatalf("corrupted read %v accepted in %v", h[i], h)
		}
	})
}
