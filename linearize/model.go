package linearize

import (
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"
)

// Input is what Porcupine sees as an operation's input.
type Input struct {
	Kind      Kind
	Key       string
	Value     string // Set and Cas
	Old       string // Cas
	OldAbsent bool   // Cas
	Node      int    // Wipe only, for display
	// rank, if not 0, is an anonymous unknown operation's place (1-based)
	// in call order among those of its class; see reduce.
	class, rank int
}

// Output is what Porcupine sees as an operation's output. Unknown matches
// anything. For Cas, Found is whether it swapped.
type Output struct {
	Unknown bool
	Found   bool
	Value   string
}

// State is one key's state in the model: absent, or holding Value.
type State struct {
	Found bool
	Value string
}

// Step is the sequential specification of one key: whether op (in, out) is
// legal in state s, and the state after it. It never modifies its arguments.
func Step(s State, in Input, out Output) (bool, State) {
	switch in.Kind {
	case Get:
		if out.Unknown {
			return true, s
		}
		return out.Found == s.Found && (!out.Found || out.Value == s.Value), s
	case Contains:
		return out.Unknown || out.Found == s.Found, s
	case Set:
		return true, State{Found: true, Value: in.Value}
	case Delete, Wipe:
		return true, State{}
	case Cas:
		holds := s.Found != in.OldAbsent && (in.OldAbsent || s.Value == in.Old)
		after := s
		if holds {
			after = State{Found: true, Value: in.Value}
		}
		// An unknown cas is placed at its linearization point like an
		// unknown set: there it swaps exactly when its condition holds.
		return out.Unknown || out.Found == holds, after
	}
	return false, s
}

// Model returns the key-value model for Porcupine, partitioned by key, with
// wipes copied into every key's partition. Init and Step are per key.
func Model() porcupine.Model {
	return ModelWith(Step)
}

// ModelWith is Model with another step function, so tests can prove the
// checker fails with a wrong specification.
func ModelWith(step func(State, Input, Output) (bool, State)) porcupine.Model {
	return porcupine.Model{
		Partition: Partition,
		Init:      func() any { return State{} },
		Step: func(s, in, out any) (bool, any) {
			return step(s.(State), in.(Input), out.(Output))
		},
		Equal: func(a, b any) bool { return a.(State) == b.(State) },
		DescribeOperation: func(in, out any) string {
			i, o := in.(Input), out.(Output)
			var call string
			switch i.Kind {
			case Set:
				call = fmt.Sprintf("set(%s, %s)", i.Key, i.Value)
			case Cas:
				old := i.Old
				if i.OldAbsent {
					old = "nil"
				}
				call = fmt.Sprintf("cas(%s, %s, %s)", i.Key, old, i.Value)
			case Wipe:
				return fmt.Sprintf("wipe (node %d crashed)", i.Node)
			default:
				call = fmt.Sprintf("%s(%s)", i.Kind, i.Key)
			}
			switch {
			case o.Unknown:
				return call + " -> unknown"
			case i.Kind == Get && o.Found:
				return call + " -> " + o.Value
			case i.Kind == Get:
				return call + " -> nil"
			case i.Kind == Contains || i.Kind == Cas:
				return fmt.Sprintf("%s -> %t", call, o.Found)
			}
			return call
		},
		DescribeState: func(s any) string {
			if st := s.(State); st.Found {
				return st.Value
			}
			return "nil"
		},
	}
}

// Partition splits a history by key, in sorted key order. Wipe operations
// (no key) go into every partition.
func Partition(ops []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	var wipes []porcupine.Operation
	for _, op := range ops {
		in := op.Input.(Input)
		if in.Kind == Wipe {
			wipes = append(wipes, op)
			continue
		}
		byKey[in.Key] = append(byKey[in.Key], op)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, append(byKey[k], wipes...))
	}
	return parts
}
