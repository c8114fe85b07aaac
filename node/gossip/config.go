package gossip

import (
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// Config tunes the protocol. Durations are in the node's (virtual) time, as
// passed to Tick and Receive. Use DefaultConfig and change fields; Validate
// fills zero fields with defaults.
type Config struct {
	// ProbeInterval is how often a node probes one member (default 500ms).
	// It is also the deadline of a probe: a member not acknowledged, directly
	// or indirectly, within it becomes Suspect.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct probe waits for an ack before asking
	// IndirectProbes other members to probe on its behalf (default 200ms);
	// less than ProbeInterval.
	ProbeTimeout time.Duration
	// IndirectProbes is how many members are asked to ping-req a member that
	// did not answer directly (default 3).
	IndirectProbes int
	// SuspicionMult scales the suspicion timeout: SuspicionMult *
	// ceil(log2(n+1)) * ProbeInterval, for n members not Left (default 4).
	SuspicionMult int
	// PiggybackMax is how many member updates ride on one message, beyond
	// the sender's own record (default 8).
	PiggybackMax int
	// RetransmitMult scales how many times a node piggybacks each update:
	// RetransmitMult * ceil(log2(n+1)) (default 4).
	RetransmitMult int
	// PushPullInterval is how often a node exchanges its full state with one
	// random live member, and with one random Dead member if there is one
	// (default 10s). It repairs what piggybacking missed, and is how a node
	// that was down, or cut off, learns what happened meanwhile.
	PushPullInterval time.Duration
	// SeedRetry is how often a node that knows no live member re-contacts
	// its seeds (default 1s).
	SeedRetry time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		ProbeInterval:    500 * time.Millisecond,
		ProbeTimeout:     200 * time.Millisecond,
		IndirectProbes:   3,
		SuspicionMult:    4,
		PiggybackMax:     8,
		RetransmitMult:   4,
		PushPullInterval: 10 * time.Second,
		SeedRetry:        time.Second,
	}
}

// Validate fills zero fields with defaults and reports negative ones, and a
// ProbeTimeout not below ProbeInterval, as errors wrapping ErrConfig.
func (c *Config) Validate() error {
	d := DefaultConfig()
	var errs []error
	dur := func(name string, v *time.Duration, def time.Duration) {
		if *v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s must not be negative, not %v", ErrConfig, name, *v))
		}
		if *v == 0 {
			*v = def
		}
	}
	num := func(name string, v *int, def int) {
		if *v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s must not be negative, not %d", ErrConfig, name, *v))
		}
		if *v == 0 {
			*v = def
		}
	}
	dur("ProbeInterval", &c.ProbeInterval, d.ProbeInterval)
	dur("ProbeTimeout", &c.ProbeTimeout, d.ProbeTimeout)
	num("IndirectProbes", &c.IndirectProbes, d.IndirectProbes)
	num("SuspicionMult", &c.SuspicionMult, d.SuspicionMult)
	num("PiggybackMax", &c.PiggybackMax, d.PiggybackMax)
	num("RetransmitMult", &c.RetransmitMult, d.RetransmitMult)
	dur("PushPullInterval", &c.PushPullInterval, d.PushPullInterval)
	dur("SeedRetry", &c.SeedRetry, d.SeedRetry)
	if c.ProbeTimeout >= c.ProbeInterval && c.ProbeInterval > 0 {
		errs = append(errs, fmt.Errorf("%w: ProbeTimeout %v must be less than ProbeInterval %v", ErrConfig, c.ProbeTimeout, c.ProbeInterval))
	}
	return errors.Join(errs...)
}

// scale is ceil(log2(n+1)), at least 1: the factor by which suspicion
// timeouts and retransmit counts grow with the cluster. It is computed in
// integers so that no floating-point detail can differ between platforms.
func scale(n int) int {
	if n < 1 {
		return 1
	}
	return bits.Len(uint(n))
}

// SuspicionTimeout is how long a member stays Suspect before it is declared
// Dead, in a cluster of n members not Left.
func (c Config) SuspicionTimeout(n int) time.Duration {
	return time.Duration(c.SuspicionMult*scale(n)) * c.ProbeInterval
}

// Retransmits is how many times a node piggybacks one update, in a cluster
// of n members not Left.
func (c Config) Retransmits(n int) int { return c.RetransmitMult * scale(n) }
