package linearize

import (
	"github.com/memdb/memdb/clock"

	"fmt"
	"strings"
	"time"
)

// Kind is what an operation did.
type Kind uint8

const (
	// Get reads a key: output Found and Output (the value).
	Get Kind = iota + 1
	// Set writes Value to Key.
	Set
	// Delete removes Key.
	Delete
	// Contains asks whether Key has a value: output Found.
	Contains
	// Wipe empties the whole store at one instant (a crash of a node that
	// keeps its data only in memory). It has no key.
	Wipe
	// Cas writes Value to Key if Key holds Old (or is absent, if OldAbsent):
	// output Found is whether it swapped.
	Cas
	// Incr adds Delta to the counter Key: output Count, the counter's value
	// right after it at the node that applied it. The Porcupine model does
	// not know counters (the simulator's counter checker judges them), so
	// Operations leaves Incr and Counter out.
	Incr
	// Counter reads the counter Key: output Count.
	Counter
	// Batch writes Value to every key of Key (keys separated by spaces)
	// atomically, at one Version; a key in Deleted is deleted instead.
	// Like counters, the Porcupine model does not know batches (the
	// simulator's batch checker judges them).
	Batch
)

var kindNames = [...]string{Get: "get", Set: "set", Delete: "delete", Contains: "contains", Wipe: "wipe", Cas: "cas", Incr: "incr", Counter: "counter", Batch: "batch"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText writes the kind's name, so traces read well.
func (k Kind) MarshalText() ([]byte, error) {
	if int(k) >= len(kindNames) || kindNames[k] == "" {
		return nil, fmt.Errorf("%w: operation kind %d", ErrBadHistory, uint8(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText parses what MarshalText writes.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n != "" && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown operation %q (want get, set, delete, contains, wipe, cas, incr or counter)", ErrBadHistory, b)
}

// Outcome is how an operation ended.
type Outcome uint8

const (
	// OK: the node answered, and the output fields hold its answer.
	OK Outcome = iota + 1
	// Failed: the node said the operation did not take effect.
	Failed
	// Unknown: no answer (timeout, broken connection, crash); a write may
	// or may not have taken effect.
	Unknown
)

var outcomeNames = [...]string{OK: "ok", Failed: "fail", Unknown: "unknown"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// MarshalText writes the outcome's name.
func (o Outcome) MarshalText() ([]byte, error) {
	if int(o) >= len(outcomeNames) || outcomeNames[o] == "" {
		return nil, fmt.Errorf("%w: outcome %d", ErrBadHistory, uint8(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText parses what MarshalText writes.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n != "" && n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown outcome %q (want ok, fail or unknown)", ErrBadHistory, b)
}

// Op is one operation as a client saw it. Times are virtual, measured from
// the start of the run.
type Op struct {
	// Process is who issued it. A client that gives up on an operation
	// (unknown outcome) continues as a new process, because the abandoned
	// operation may still be in flight: one process never has two
	// operations open at once, as the checker assumes.
	Process int    `json:"process"`
	Client  int    `json:"client,omitempty"` // the client that issued it, 1-based; 0 for wipes
	Kind    Kind   `json:"op"`
	Key     string `json:"key,omitempty"`
	Value   string `json:"value,omitempty"` // Set and Cas: the value written (unique in a run)
	// Cas: the value expected, or with OldAbsent, that the key be absent.
	Old       string `json:"old,omitempty"`
	OldAbsent bool   `json:"old_absent,omitempty"`
	// Serial says the operation went through Paxos (a serial read or put).
	Serial bool          `json:"serial,omitempty"`
	Call   time.Duration `json:"call_ns"`
	// Return is when the answer arrived, or, for an unknown outcome, when
	// the client gave up; the checker treats an unknown write as returning
	// after everything else.
	Return  time.Duration `json:"return_ns"`
	Outcome Outcome       `json:"outcome"`
	Found   bool          `json:"found,omitempty"`  // Get and Contains: the key had a value; Cas: it swapped
	Output  string        `json:"output,omitempty"` // Get: the value read
	Node    int           `json:"node,omitempty"`   // the node that served it (Wipe: crashed)
	// Version is the timestamp the node answered with: a write's stamp, or
	// the stamp of the version a Get read (zero if none). The cluster
	// checkers compare them.
	Version clock.Timestamp `json:"version"`
	Note    string          `json:"note,omitempty"` // why it failed or is unknown
	// Incr: the amount added, and how many times the client sent it (its
	// retries carry the same operation id).
	Delta    int64 `json:"delta,omitempty"`
	Attempts int   `json:"attempts,omitempty"`
	// Incr and Counter: the counter's value the node answered.
	Count int64 `json:"count,omitempty"`
	// Batch: the keys it deletes (among Key's), and its token.
	Deleted []string `json:"deleted,omitempty"`
	Token   string   `json:"token,omitempty"`
}

// Keys are the keys a Batch writes.
func (o Op) Keys() []string { return strings.Fields(o.Key) }

func (o Op) String() string {
	var b strings.Builder
	switch o.Kind {
	case Set:
		fmt.Fprintf(&b, "set(%s, %s)", o.Key, o.Value)
	case Cas:
		fmt.Fprintf(&b, "cas(%s, %s, %s)", o.Key, o.expected(), o.Value)
	case Wipe:
		fmt.Fprintf(&b, "wipe(node %d)", o.Node)
	case Incr:
		fmt.Fprintf(&b, "incr(%s, %+d)", o.Key, o.Delta)
	case Batch:
		fmt.Fprintf(&b, "batch(%s = %s", o.Key, o.Value)
		if len(o.Deleted) > 0 {
			fmt.Fprintf(&b, ", deleting %v", o.Deleted)
		}
		b.WriteString(")")
	default:
		fmt.Fprintf(&b, "%s(%s)", o.Kind, o.Key)
	}
	switch {
	case o.Outcome != OK:
		fmt.Fprintf(&b, " -> %s", o.Outcome)
	case o.Kind == Get && o.Found:
		fmt.Fprintf(&b, " -> %s", o.Output)
	case o.Kind == Get:
		b.WriteString(" -> nil")
	case o.Kind == Contains || o.Kind == Cas:
		fmt.Fprintf(&b, " -> %t", o.Found)
	case o.Kind == Incr || o.Kind == Counter:
		fmt.Fprintf(&b, " -> %d", o.Count)
	}
	return b.String()
}

// expected renders a Cas's expectation: the old value, or nil for absence.
func (o Op) expected() string {
	if o.OldAbsent {
		return "nil"
	}
	return o.Old
}

// History is every operation of a run, in the order they were called.
type History []Op

// Validate checks that h is something the checker can judge: known kinds
// and outcomes, keys where needed, returns not before calls.
func (h History) Validate() error {
	for i, o := range h {
		switch {
		case o.Kind < Get || o.Kind > Batch:
			return fmt.Errorf("%w: op %d has unknown kind %d", ErrBadHistory, i, uint8(o.Kind))
		case o.Outcome < OK || o.Outcome > Unknown:
			return fmt.Errorf("%w: op %d (%s) has unknown outcome %d", ErrBadHistory, i, o.Kind, uint8(o.Outcome))
		case o.Kind != Wipe && o.Key == "":
			return fmt.Errorf("%w: op %d (%s) has no key", ErrBadHistory, i, o.Kind)
		case o.Kind == Wipe && o.Key != "":
			return fmt.Errorf("%w: op %d is a wipe with key %q; wipes cover every key", ErrBadHistory, i, o.Key)
		case o.Kind == Cas && o.OldAbsent && o.Old != "":
			return fmt.Errorf("%w: op %d is a cas on absence with an old value %q", ErrBadHistory, i, o.Old)
		case o.Return < o.Call:
			return fmt.Errorf("%w: op %d (%s) returns at %v, before its call at %v", ErrBadHistory, i, o, o.Return, o.Call)
		case o.Process < 0:
			return fmt.Errorf("%w: op %d has negative process %d", ErrBadHistory, i, o.Process)
		}
	}
	return nil
}

// Counts returns how many operations ended in each outcome.
func (h History) Counts() (ok, failed, unknown int) {
	for _, o := range h {
		if o.Kind == Wipe {
			continue
		}
		switch o.Outcome {
		case OK:
			ok++
		case Failed:
			failed++
		case Unknown:
			unknown++
		}
	}
	return ok, failed, unknown
}
