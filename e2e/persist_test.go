package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Durability with real processes: memdbd acknowledges a write only once its
// operation log holds it, so whatever memdb printed ok for must survive
// kill -9, and nothing that was never written may appear. A test cannot
// pick the instant of a crash, so each test kills the node while writes are
// in flight and checks every acknowledged write: a node that acknowledged
// before appending, or lost the tail of its log at replay, or compacted
// away live keys, shows up as a missing or stale key.
//
// kill -9 ends the process, not the machine: the page cache survives it, so
// these tests cannot see a node that acknowledges after write(2) but before
// fsync(2). Power loss is the simulator's job (its crashable disk drops
// unsynced writes).

const (
	persistKeys  = 2000 // keys written by the crash tests
	persistProcs = 4    // memdb co-processes writing at once
)

// neverWritten are keys no test writes; they must read (nil).
var neverWritten = []string{"ghost", "k99999", "k-1"}

// crashMidStream writes sets to d through the co-processes, kills d with
// SIGKILL once half of them were acknowledged, and waits for the
// co-processes to give up.
func crashMidStream(t *testing.T, d *daemon, led *ledger, sets []kv) {
	t.Helper()
	before := led.ackCount()
	s := startStream(t, d.addr, led, sets, persistProcs)
	if !s.waitAcks(t, before+len(sets)/2) {
		t.Fatalf("stream ended after %d acks, before the kill", led.ackCount()-before)
	}
	d.kill()
	s.wait(t)
	n := led.ackCount() - before
	if n < len(sets)/2 || n == len(sets) {
		t.Fatalf("%d of %d writes acknowledged: the kill did not land mid-stream", n, len(sets))
	}
	t.Logf("killed memdbd after %d of %d writes were acknowledged", n, len(sets))
}

// In every fsync mode: kill -9 leaves the page cache, and a node writes
// a record to the OS before it acknowledges it whatever the mode (the log
// coalesces an event's records into one write, and the commits waiting for
// them are acknowledged only after it: oplog.Config.Coalesce), so under
// none and everysec too every acknowledged write must survive.
func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	for _, mode := range []string{"always", "everysec", "none"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			d := startDaemon(t, "-data", dir, "-fsync", mode)
			led := newLedger()
			crashMidStream(t, d, led, sets("k", "a", 0, persistKeys))

			d = startDaemon(t, "-data", dir, "-fsync", mode)
			check(t, d.addr, led, neverWritten)

			// The restarted node keeps going: a second crash, overwriting
			// half the keys, still keeps every acknowledged write, old or
			// new.
			crashMidStream(t, d, led, sets("k", "b", 0, persistKeys/2))
			d = startDaemon(t, "-data", dir, "-fsync", mode)
			check(t, d.addr, led, neverWritten)
			if code := d.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("memdbd exit %d after SIGTERM, want 0:\n%s", code, d.log)
			}
		})
	}
}

// Garbage after the last record of the last segment is what a crash in the
// middle of a write leaves: the restart cuts it off, says so, and keeps
// every acknowledged write.
func TestTornTailCut(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, "-data", dir, "-fsync", "always")
	led := newLedger()
	crashMidStream(t, d, led, sets("k", "a", 0, persistKeys))

	segs := segments(t, dir)
	last := segs[len(segs)-1]
	garbage := []byte("\x00\x00\x00\x2a\x00\x00\x00\x30\x01half a record, then the power went")
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(garbage); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	d = startDaemon(t, "-data", dir, "-fsync", "always")
	if !strings.Contains(d.log.String(), "torn") || !strings.Contains(d.log.String(), filepath.Base(last)) {
		t.Fatalf("restart after appending %d garbage bytes to %s did not log a torn tail naming it:\n%s", len(garbage), last, d.log)
	}
	check(t, d.addr, led, neverWritten)

	// The cut is durable: a clean stop and start finds no tail to cut.
	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("memdbd exit %d after SIGTERM, want 0:\n%s", code, d.log)
	}
	d = startDaemon(t, "-data", dir, "-fsync", "always")
	if strings.Contains(d.log.String(), "torn") {
		t.Fatalf("second restart found a torn tail again:\n%s", d.log)
	}
	check(t, d.addr, led, neverWritten)
}

// logHeaderLen is the size of a log segment's header (see the format in
// node/oplog/doc.go): "memdblog", version, kind, segment number, CRC.
const logHeaderLen = 8 + 2 + 2 + 8 + 4

// recordOffsets walks the records of a log segment by their length fields
// (a record is crc(4), length(4), then length bytes) and returns where each
// starts.
func recordOffsets(t *testing.T, data []byte) []int {
	t.Helper()
	var offs []int
	for off := logHeaderLen; off+8 <= len(data); {
		offs = append(offs, off)
		off += 8 + int(binary.BigEndian.Uint32(data[off+4:]))
	}
	return offs
}

// A flipped bit anywhere but the tail is corruption: memdbd must refuse to
// start (exit 1) with an error naming the file and the offset of the
// damaged record, rather than serve with acknowledged writes missing.
func TestCorruptSegmentRefused(t *testing.T) {
	tests := []struct {
		name   string
		record func(n int) int // which record, of n
		at     int             // byte within the record to flip
	}{
		{"first record's body", func(int) int { return 0 }, 8 + 12},
		{"first record's key", func(int) int { return 0 }, 8 + 23},
		{"middle record's crc", func(n int) int { return n / 2 }, 1},
		{"middle record's value", func(n int) int { return n / 2 }, 8 + 23 + 6 + 3},
		{"second to last record's length", func(n int) int { return n - 2 }, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			d := startDaemon(t, "-data", dir, "-fsync", "always")
			in := strings.Builder{}
			for _, s := range sets("k", "a", 0, 200) {
				fmt.Fprintf(&in, "set %s %s\n", s.key, s.value)
			}
			if out, _, code := memdb(t, in.String(), "-addr", d.addr); code != 0 || strings.Count(out, "ok\n") != 200 {
				t.Fatalf("writing 200 keys: exit %d, output %q", code, out)
			}
			if code := d.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("memdbd exit %d after SIGTERM, want 0:\n%s", code, d.log)
			}

			segs := segments(t, dir)
			seg := segs[0]
			data, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			offs := recordOffsets(t, data)
			// The node's own records (its clock lease, its member record)
			// come before the 200 writes.
			if len(offs) < 200 || len(offs) > 210 {
				t.Fatalf("%s holds %d records, want the 200 writes and a few of the node's own", seg, len(offs))
			}
			rec := offs[tt.record(len(offs))]
			data[rec+tt.at] ^= 0x10
			if err := os.WriteFile(seg, data, 0o644); err != nil {
				t.Fatal(err)
			}

			code, stderr := runFailing(t, "-data", dir, "-fsync", "always")
			want := fmt.Sprintf("%s offset %d", filepath.Base(seg), rec)
			var errLine string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(l, "error: ") {
					errLine = l
				}
			}
			if code != 1 || !strings.Contains(errLine, want) {
				t.Fatalf("after flipping byte %d of %s (record at %d): exit %d, error line %q; want exit 1 and an error naming %q; stderr:\n%s",
					rec+tt.at, seg, rec, code, errLine, want, stderr)
			}
			if strings.Contains(stderr, "ready") {
				t.Fatalf("memdbd said ready on a corrupt log:\n%s", stderr)
			}
		})
	}
}

// compactors are the two ways to ask a node for a compaction.
var compactors = []struct {
	name    string
	compact func(t *testing.T, d *daemon)
}{
	{"memdb compact", func(t *testing.T, d *daemon) {
		if out, errOut, code := memdb(t, "", "-addr", d.addr, "compact"); out != "ok\n" || code != 0 {
			t.Fatalf("memdb compact: %q exit %d, stderr %q; want ok", out, code, errOut)
		}
	}},
	{"POST /v1/compact", func(t *testing.T, d *daemon) {
		resp, err := http.Post("http://"+d.httpAddr()+"/v1/compact", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var res struct {
			Keys       int   `json:"keys"`
			DiskBefore int64 `json:"disk_bytes_before"`
			DiskAfter  int64 `json:"disk_bytes_after"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &res) != nil || res.DiskAfter <= 0 {
			t.Fatalf("POST /v1/compact: %s %s", resp.Status, body)
		}
		t.Logf("POST /v1/compact: %s", bytes.TrimSpace(body))
	}},
}

// Compaction replaces the log by a base segment holding the live state; the
// writes acknowledged before it (overwrites and deletes included) and after
// it must survive kill -9, and so must a second compaction of a node that
// booted from a base.
func TestAcknowledgedWritesSurviveCompactionAndKill9(t *testing.T) {
	for _, c := range compactors {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			flags := []string{"-data", dir, "-fsync", "always", "-http", "127.0.0.1:0"}
			d := startDaemon(t, flags...)
			led := newLedger()
			// Keys are written, half of them overwritten, a tenth deleted:
			// the compacted state is smaller than the log.
			writeAll(t, d.addr, led, sets("k", "a", 0, persistKeys))
			writeAll(t, d.addr, led, sets("k", "b", 0, persistKeys/2))
			var dels []kv
			for i := 0; i < persistKeys; i += 10 {
				dels = append(dels, kv{fmt.Sprintf("k%05d", i), deleted})
			}
			writeAll(t, d.addr, led, dels)
			before := dirSize(t, dir)
			c.compact(t, d)
			after := dirSize(t, dir)
			if bases, _ := filepath.Glob(filepath.Join(dir, "*.base")); len(bases) != 1 || after >= before {
				t.Fatalf("after compaction: base segments %q, data dir %d bytes (before %d); want one base and fewer bytes", bases, after, before)
			}
			t.Logf("data dir %d bytes before compaction, %d after", before, after)

			// Writes after the compaction go to a new log segment; the
			// crash hits them mid-stream.
			// Half overwrite old keys (some deleted), half are new.
			var next []kv
			for i, w := range sets("k", "c", persistKeys/4, persistKeys/2) {
				next = append(next, w, sets("k", "d", persistKeys+i, 1)[0])
			}
			crashMidStream(t, d, led, next)
			d = startDaemon(t, flags...)
			check(t, d.addr, led, neverWritten)

			// Compact the node that booted from a base, then crash at once.
			c.compact(t, d)
			d.kill()
			d = startDaemon(t, flags...)
			check(t, d.addr, led, neverWritten)
			if code := d.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("memdbd exit %d after SIGTERM, want 0:\n%s", code, d.log)
			}
		})
	}
}

// Every fsync mode starts, and a clean stop (SIGTERM syncs the log) keeps
// every acknowledged write whatever the mode.
func TestCleanStopKeepsWritesInEveryFsyncMode(t *testing.T) {
	for _, mode := range []string{"always", "everysec", "none"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			d := startDaemon(t, "-data", dir, "-fsync", mode)
			led := newLedger()
			writeAll(t, d.addr, led, sets("k", mode, 0, 300))
			if code := d.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("memdbd -fsync %s exit %d after SIGTERM, want 0:\n%s", mode, code, d.log)
			}
			d = startDaemon(t, "-data", dir, "-fsync", mode)
			check(t, d.addr, led, neverWritten)
		})
	}
}
