// Package coord is the pure core of the requests a node coordinates:
// client writes and reads that go to a key's replicas (DESIGN §4,
// Replication), read repair, and the hints a coordinator keeps for
// replicas that did not take a write. It holds each request's state and
// decides what follows from each event; the node does the rest.
//
// A Write or a Read takes events — a replica's answer, a repair's
// acknowledgement, a fence, the request's deadline — and returns a Step:
// hint the write to these replicas, send the read's newest state to these
// replicas (and wait for them, or not), tell the client Done, Answer,
// Unavailable or Unknown, finish. A late or repeated event returns the
// zero Step, so the node can hand over every answer a network that loses,
// duplicates and reorders delivers. Hints holds the writes kept for each
// replica with their bounds, and hands them out in batches.
//
// Ops is the table of the requests in flight, by the id their frames
// carry (the node draws the ids). An Op is a Write or a Read with what the
// node keeps around it — who asked, what a write that met its level
// answers, the node's timer — and turns each event into a Do: the Step,
// and the message the client hears, its text written here. Op.Route says
// how a write reaches each replica (apply here, send, hint), Op.Restamp
// whether a refusal of its stamp sends it again.
//
// The node keeps everything else: drawing ids, stamping, sending,
// applying locally (which may answer within the call that sent, so a
// Do's effects can come back into the request they belong to), timers,
// stats, probes and logging. Nothing here reads a clock, draws a random
// number or sends; times are passed in. The scripts under testdata/ops
// drive ops through answers and deadlines and show what each has the
// node do.
//
// # Writes
//
// A write is stamped once and sent to every replica of its key on the
// write ring (both rings' while a member joins or leaves: the groups of a
// quorum.Joint). The client hears Done as soon as the write is durable on
// its level's count in every group. Once so many replicas refused it that
// the level can no longer be met it hears Unavailable if every replica
// refused (nothing was applied anywhere) and Unknown otherwise; a write
// whose deadline passes first is Unknown too — a timed-out write may yet
// be applied, never "failed". A replica that refused, or did not answer
// by the deadline, gets a hint — one hint of a write per replica.
//
// A replica on a newer ring than the coordinator refuses the write as
// stale (nothing applied) and sends the coordinator the membership it
// lacks. Once the coordinator's ring has moved on the write goes again to
// the new ring's replicas that have not acknowledged it (Fenced, Resend),
// so a range movement does not turn writes made meanwhile into unknown
// outcomes. A replica has one answer at most until the write is sent to
// it again, though the copies of a frame may be answered differently
// (refused, then fenced once the replica learned a newer ring): a later
// refusal or fence counts for nothing, a later acknowledgement replaces
// the answer before it (Write.Answer).
//
// # Reads
//
// A read asks the replicas that are up and merges their answers by the
// value kind's rule (store.Merge). Once the answers meet the level in
// every group, a read at one answers at once. At quorum and above it
// first repairs the answerers whose state does not cover the merge
// (store.Covers) and waits for each to acknowledge, so that the state it
// returns — the merge of the answers that met the level (Read.Result) —
// is on a quorum and a later quorum read does not return an older one.
// An answer that comes while it waits is merged for repair but not
// returned: it may be on that one replica only (PAPER bug 32). Answers
// that come after the client heard are repaired in the background. A
// batch's undecided intent among the answers is looked up first; a read
// that cannot look one up ends, and its client hears Unavailable — every
// op that ends before its client heard tells it why (Do.Msg).
//
// # Hints
//
// A queue per replica, bounded in bytes (net.Entry.Size of what it holds) and
// in time: once a replica has taken none of its hints for a window, as
// one down that long, it gets no more until it takes some (node's doc,
// "Hinted handoff"). The node replays the next batch of each replica that
// is up, one batch in flight per replica, oldest first (Replay), and
// hands each answer back (Answered): delivered, dropped for good, or kept
// for the next round.
package coord
