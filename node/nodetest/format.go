package nodetest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/memdb/memdb/clock"
	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node/store"
)

// FormatFrame describes a frame in one stable, readable line: its id, its
// kind and the fields that say what it does. Zero-valued fields are left
// out; keys and values are printed plain when they are printable text and
// quoted otherwise (system keys start with a zero byte).
func FormatFrame(f net.Frame) string {
	s := FormatMessage(f.Msg)
	if f.ID != 0 {
		s = fmt.Sprintf("#%d %s", f.ID, s)
	}
	return s
}

// FormatMessage describes one message; see FormatFrame.
func FormatMessage(m net.Message) string {
	var b fields
	switch m := m.(type) {
	case *net.Prepare:
		b.add("key", text(m.Key)).stamp("ballot", m.Ballot).num("epoch", m.Epoch)
	case *net.Promise:
		if !m.OK {
			b.add("", "refused").stamp("promised", m.Promised)
			break
		}
		b.add("", "ok").stamp("accepted", m.Accepted)
		if !m.Accepted.IsZero() {
			b.add("value", text(m.Value))
		}
		b.version(m.Found, m.Version, m.Current)
	case *net.Propose:
		b.add("key", text(m.Key)).stamp("ballot", m.Ballot).add("value", text(m.Value)).num("epoch", m.Epoch)
	case *net.Accepted:
		if m.OK {
			b.add("", "ok")
			break
		}
		b.add("", "refused").stamp("promised", m.Promised).stamp("accepted", m.Accepted)
	case *net.Peek:
		b.add("key", text(m.Key)).num("epoch", m.Epoch)
	case *net.AcceptorState:
		b.stamp("accepted", m.Accepted)
		if !m.Accepted.IsZero() {
			b.add("value", text(m.Value))
		}
		b.version(m.Found, m.Version, m.Current)
	case *net.Replicate:
		b.num("epoch", m.Epoch).entries(m.Entries)
	case *net.Read:
		b.add("key", text(m.Key)).num("epoch", m.Epoch)
	case *net.Value:
		b.version(m.Found, m.Version, m.Value)
	case *net.Done:
		b.stamp("version", m.Version)
	case *net.Bool:
		b.add("", strconv.FormatBool(m.Value))
	case *net.Error:
		b.add("", m.Code.String()).add("", strconv.Quote(m.Message))
	case *net.Sync:
		b.num("epoch", m.Epoch).num("spans", uint64(len(m.Spans))).num("marks", uint64(len(m.Marks)))
		if len(m.After) > 0 {
			b.add("after", text(m.After))
		}
	case *net.SyncBatch:
		b.entries(m.Entries)
		if m.More {
			b.add("", "more").add("next", text(m.Next))
		}
	case *net.Digest:
		b.num("epoch", m.Epoch).num("spans", uint64(len(m.Spans)))
	case *net.DigestReply:
		b.num("sums", uint64(len(m.Sums)))
	case *net.PaxosKeys:
		b.num("epoch", m.Epoch).num("spans", uint64(len(m.Spans)))
		if m.States {
			b.add("", "states")
		}
	case *net.PaxosKeysReply:
		ks := make([]string, len(m.Keys))
		for i, k := range m.Keys {
			ks[i] = text(k)
		}
		b.add("keys", "["+strings.Join(ks, " ")+"]").num("states", uint64(len(m.States)))
	case *net.Take:
		b.num("epoch", m.Epoch).num("spans", uint64(len(m.Spans))).add("from", fmt.Sprint(m.From))
	case *net.Gossip:
		b.num("bytes", uint64(len(m.Payload)))
	case *net.Get:
		b.add("key", text(m.Key)).add("level", m.Level.String())
	case *net.Set:
		b.add("key", text(m.Key)).add("value", text(m.Value)).add("level", m.Level.String())
	case *net.Delete:
		b.add("key", text(m.Key)).add("level", m.Level.String())
	case *net.Incr:
		b.add("key", text(m.Key)).add("delta", strconv.FormatInt(m.Delta, 10)).add("op", fmt.Sprintf("%d/%d", m.Session, m.Seq)).
			num("attempt", uint64(m.Attempt)).add("level", m.Level.String())
		if !m.First.IsZero() {
			b.stamp("first", m.First)
		}
	case *net.GetCounter:
		b.add("key", text(m.Key)).add("level", m.Level.String())
	case *net.CounterValue:
		b.add("", strconv.FormatInt(m.Value, 10))
	case *net.State:
		b.entries([]net.Entry{m.Entry})
	case *net.Batch:
		ws := make([]string, len(m.Writes))
		for i, w := range m.Writes {
			ws[i] = text(w.Key) + "=" + text(w.Value)
			if w.Deleted {
				ws[i] = text(w.Key) + "=deleted"
			}
		}
		b.add("token", text(m.Token)).add("writes", "["+strings.Join(ws, " ")+"]")
	case *net.CAS:
		old := "absent"
		if m.OldFound {
			old = text(m.Old)
		}
		b.add("key", text(m.Key)).add("old", old).add("new", text(m.New))
	default:
		b.add("", fmt.Sprintf("%+v", m))
	}
	return strings.TrimRight(m.Kind().String()+" "+b.String(), " ")
}

// fields builds a line of name=value pairs.
type fields struct{ strings.Builder }

func (b *fields) add(name, v string) *fields {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if name != "" {
		b.WriteString(name + "=")
	}
	b.WriteString(v)
	return b
}

func (b *fields) num(name string, v uint64) *fields {
	if v == 0 {
		return b
	}
	return b.add(name, strconv.FormatUint(v, 10))
}

func (b *fields) stamp(name string, t clock.Timestamp) *fields {
	if t.IsZero() {
		return b
	}
	return b.add(name, t.String())
}

// version describes a stored version: a value, a tombstone, or nothing.
func (b *fields) version(found bool, at clock.Timestamp, v []byte) *fields {
	switch {
	case found:
		return b.add("current", text(v)+"@"+at.String())
	case !at.IsZero():
		return b.add("current", "deleted@"+at.String())
	}
	return b.add("current", "none")
}

func (b *fields) entries(es []net.Entry) *fields {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = entry(e)
	}
	return b.add("", "["+strings.Join(parts, " ")+"]")
}

func entry(e net.Entry) string {
	if e.Intents {
		return text(e.Key) + "=" + intents(store.FromEntry(e))
	}
	if e.Counter {
		return text(e.Key) + "=" + slots(e.Value) + "@" + e.Stamp.String()
	}
	if e.Deleted {
		return text(e.Key) + "=deleted@" + e.Stamp.String()
	}
	return text(e.Key) + "=" + text(e.Value) + "@" + e.Stamp.String()
}

// intents prints a register with batch intents as value@stamp{token:T:value ...},
// an aborted intent's value as "aborted".
func intents(v store.Version) string {
	val := "none"
	switch {
	case v.Deleted:
		val = "deleted@" + v.Stamp.String()
	case !v.Stamp.IsZero():
		val = text(v.Value) + "@" + v.Stamp.String()
	}
	parts := make([]string, len(v.Intents()))
	for i, in := range v.Intents() {
		w := text(in.Value)
		switch {
		case in.Aborted:
			w = "aborted"
		case in.Deleted:
			w = "deleted"
		}
		parts[i] = text(in.Token) + ":" + in.Stamp.String() + ":" + w
	}
	return val + "{" + strings.Join(parts, " ") + "}"
}

// slots prints a counter's slots as {node/gen:version:+P-N ...}, the
// generation as its last 4 hex digits.
func slots(b []byte) string {
	ss, err := store.Slots(store.Version{Kind: store.Counter, Value: b})
	if err != nil {
		return "{bad: " + err.Error() + "}"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprintf("%d/%04x:%d:+%d-%d", s.Node, s.Gen&0xffff, s.Version, s.P, s.N)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// text prints b plain if it is non-empty printable text without spaces
// or '=', quoted otherwise.
func text(b []byte) string {
	s := string(b)
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == ' ' || r == '=' || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}
