package coord

// Reply is what a request's client hears, if anything yet.
type Reply uint8

const (
	// Wait: nothing yet.
	Wait Reply = iota
	// Done: the write is durable on its level's count of replicas in every
	// group.
	Done
	// Answer: the read answers with the newest state it found (Read.Newest).
	Answer
	// Unavailable: certainly not done — every replica refused the write,
	// or too few answered the read in time.
	Unavailable
	// Unknown: the write may or may not be applied — some replicas refused
	// it or did not answer in time, and some may have it.
	Unknown
)

func (r Reply) String() string {
	switch r {
	case Done:
		return "done"
	case Answer:
		return "answer"
	case Unavailable:
		return "unavailable"
	case Unknown:
		return "unknown"
	}
	return "wait"
}

// A Step is what the node must do after a request took an event, in this
// order: hint the write to Hint, send the read's newest state to Repair,
// tell the client Reply, forget the request if Finish. The zero Step does
// nothing: the event was late (the request is over) or a duplicate.
type Step struct {
	// Hint are replicas that did not take the write: keep it for them
	// (hinted handoff).
	Hint []uint16
	// Repair are replicas whose answer to the read was older than its
	// newest state. If Wait, the read waits for each to acknowledge
	// (Read.Repaired) before it answers; else the repair wants no answer.
	Repair []uint16
	Wait   bool
	Reply  Reply
	Finish bool
}
