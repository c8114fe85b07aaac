package sim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// LinkDelay makes one directed link between nodes slower than the rest:
// every peer message from node From to node To takes Extra longer than the
// network's latency, plus a jitter drawn uniformly in [0, Jitter] per
// message (so messages on the link also overtake one another more).
//
// Uneven links are how one acceptor hears a prepare long after the others
// do: the network's latency is drawn per message from one distribution for
// every link, so a run rarely keeps one acceptor behind while two others
// go through a whole Paxos round.
//
// The jitter is drawn from the "links" stream, in the order messages are
// sent, and only for messages on a link with a LinkDelay; runs without
// one draw nothing and are what they were before uneven links existed.
type LinkDelay struct {
	From   int           `json:"from"`
	To     int           `json:"to"`
	Extra  time.Duration `json:"extra_ns"`
	Jitter time.Duration `json:"jitter_ns,omitempty"`
}

func (l LinkDelay) String() string {
	return fmt.Sprintf("%d→%d +%v (jitter ≤%v)", l.From, l.To, l.Extra, l.Jitter)
}

// validateLinks checks links against a world of nodes nodes: each names
// two distinct nodes, at most once, with delays in [0, 1 min].
func validateLinks(links []LinkDelay, nodes int) []string {
	var errs []string
	seen := map[[2]int]bool{}
	for i, l := range links {
		switch {
		case l.From < 1 || l.From > nodes || l.To < 1 || l.To > nodes || l.From == l.To:
			errs = append(errs, fmt.Sprintf("link delay %d: %d→%d does not join two of nodes 1..%d", i, l.From, l.To, nodes))
		case l.Extra < 0 || l.Jitter < 0 || l.Extra > time.Minute || l.Jitter > time.Minute:
			errs = append(errs, fmt.Sprintf("link delay %d: extra %v and jitter %v must be in [0, 1m]", i, l.Extra, l.Jitter))
		case seen[[2]int{l.From, l.To}]:
			errs = append(errs, fmt.Sprintf("link delay %d: link %d→%d is named twice", i, l.From, l.To))
		}
		seen[[2]int{l.From, l.To}] = true
	}
	return errs
}

// linkDelays is a run's uneven-link state, made on the first message that
// crosses a link with a delay.
type linkDelays struct {
	by map[[2]int]LinkDelay
	r  *rand.Rand
}

// linkDelay is the delay a peer message from node from to node to takes on
// top of the network's latency: zero unless Params.Net.Links names that
// link.
func (w *world) linkDelay(from, to int) time.Duration {
	links := w.p.Net.Links
	if len(links) == 0 {
		return 0
	}
	if w.links == nil {
		w.links = &linkDelays{by: map[[2]int]LinkDelay{}, r: Stream(w.p.Seed, "links")}
		for _, l := range links {
			w.links.by[[2]int{l.From, l.To}] = l
		}
	}
	l, ok := w.links.by[[2]int{from, to}]
	if !ok {
		return 0
	}
	return l.Extra + time.Duration(uniform(w.links.r, 0, int64(l.Jitter)))
}

// drawLinks gives each directed link between p's nodes an extra delay
// drawn uniformly in [0, max], from a stream of its own ("links/swarm"), so
// that no other draw shifts, and returns a note saying what it drew.
func drawLinks(seed uint64, p *Params, max time.Duration) string {
	x := Stream(seed, "links/swarm")
	p.Net.Links = nil
	for from := 1; from <= p.Nodes; from++ {
		for to := 1; to <= p.Nodes; to++ {
			if from != to {
				p.Net.Links = append(p.Net.Links, LinkDelay{From: from, To: to, Extra: time.Duration(uniform(x, 0, int64(max)))})
			}
		}
	}
	return fmt.Sprintf("uneven links: %v", p.Net.Links)
}
