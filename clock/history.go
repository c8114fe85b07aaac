package clock

import "time"

// History is what a Lamport clock read over the last Window of physical
// time, sampled at most once per Every: enough to answer "what did the
// clock read Window ago?" (Ago). Anti-entropy's horizon and the tombstone
// rule's expiry are both such readings. Times are a node's time since
// boot. The zero History with a Window set is ready to use.
type History struct {
	Window, Every time.Duration
	readings      []reading // oldest first
}

type reading struct {
	at    time.Duration
	stamp Timestamp
}

// Record notes that the clock read stamp at now (unless the last reading
// is younger than Every), and forgets the readings Ago no longer needs.
func (h *History) Record(now time.Duration, stamp Timestamp) {
	if k := len(h.readings); k == 0 || now-h.readings[k-1].at >= h.Every {
		h.readings = append(h.readings, reading{now, stamp})
	}
	i := 0
	for i+1 < len(h.readings) && h.readings[i+1].at <= now-h.Window {
		i++
	}
	h.readings = h.readings[i:]
}

// Ago is the clock as it read Window before now: the latest reading at or
// before then (zero if there is none that old).
func (h *History) Ago(now time.Duration) Timestamp {
	if len(h.readings) == 0 || h.readings[0].at > now-h.Window {
		return Timestamp{}
	}
	return h.readings[0].stamp
}
