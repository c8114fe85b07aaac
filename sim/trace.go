package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/memdb/memdb/linearize"
)

// TraceVersion is the version of the trace format this package writes.
const TraceVersion = 1

// ErrTrace means a trace file cannot be replayed.
var ErrTrace = errors.New("bad trace")

// Trace is a run written down: enough to replay it exactly (the parameters
// and fault schedule, not re-derived from the seed) and to read what
// happened (verdict, client operations, statistics).
type Trace struct {
	Version    int               `json:"version"`
	Scenario   string            `json:"scenario"`
	Seed       uint64            `json:"seed"`
	EventHash  string            `json:"event_hash"`
	Verdict    Verdict           `json:"verdict"`
	Reason     string            `json:"reason,omitempty"`
	Stack      string            `json:"stack,omitempty"`
	Notes      []string          `json:"notes,omitempty"` // what the seed's swarm switched on
	Params     Params            `json:"params"`
	Faults     []Fault           `json:"faults"`
	Operations linearize.History `json:"operations"`
	Stats      Stats             `json:"stats"`
}

// NewTrace writes down res, a run of scenario.
func NewTrace(scenario string, notes []string, res Result) Trace {
	faults := res.Params.Faults
	if faults == nil {
		faults = []Fault{}
	}
	return Trace{
		Version: TraceVersion, Scenario: scenario, Seed: res.Params.Seed,
		EventHash: res.EventHash, Verdict: res.Verdict, Reason: res.Reason, Stack: res.Stack,
		Notes: notes, Params: res.Params, Faults: faults, Operations: res.History, Stats: res.Stats,
	}
}

// RunParams returns the parameters to replay the trace with.
func (t Trace) RunParams() Params {
	p := t.Params
	p.Faults = t.Faults
	return p
}

var hexHash = regexp.MustCompile(`^[0-9a-f]{16}$`)

// ReadTrace reads and checks a trace file.
func ReadTrace(path string) (Trace, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Trace{}, fmt.Errorf("read trace: %w", err)
	}
	var t Trace
	if err := json.Unmarshal(b, &t); err != nil {
		return Trace{}, fmt.Errorf("%w: %s: %v", ErrTrace, path, err)
	}
	switch {
	case t.Version != TraceVersion:
		return Trace{}, fmt.Errorf("%w: %s has format version %d; this simulator reads %d", ErrTrace, path, t.Version, TraceVersion)
	case t.Seed != t.Params.Seed:
		return Trace{}, fmt.Errorf("%w: %s: seed %d differs from params.seed %d", ErrTrace, path, t.Seed, t.Params.Seed)
	case !hexHash.MatchString(t.EventHash):
		return Trace{}, fmt.Errorf("%w: %s: event_hash %q is not 16 hex digits", ErrTrace, path, t.EventHash)
	}
	if err := t.RunParams().Validate(); err != nil {
		return Trace{}, fmt.Errorf("%w: %s: %w", ErrTrace, path, err)
	}
	return t, nil
}

// WriteArtifacts writes dir/trace.json and, for a linearizability
// violation, dir/history.html with the failing key's history and the fault
// windows annotated.
func WriteArtifacts(dir string, t Trace, res Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write trace: %w", err)
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("write trace: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "trace.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write trace: %w", err)
	}
	if res.Verdict == Safety && !res.Check.OK && res.Check.Key != "" {
		if err := res.Check.WriteHTML(filepath.Join(dir, "history.html"), res.Windows); err != nil {
			return err
		}
	}
	return nil
}
