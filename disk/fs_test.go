package disk

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// harness is one FS under the conformance suite, with a way to run its
// callbacks.
type harness struct {
	fs FS
	// wait runs callbacks until *done is true, failing if none can come.
	wait func(t *testing.T, done *bool)
}

// newOSHarness returns an OS over a temporary directory whose callbacks are
// posted to a channel the test drains.
func newOSHarness(t *testing.T) harness {
	t.Helper()
	posted := make(chan func(), 4096)
	o, err := NewOS(t.TempDir(), func(f func()) { posted <- f })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return harness{fs: o, wait: func(t *testing.T, done *bool) {
		t.Helper()
		for !*done {
			select {
			case f := <-posted:
				f()
			case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
				t.Fatal("no callback arrived")
			}
		}
	}}
}

// queue is a schedule for Mem that runs callbacks when the test drains it.
type queue struct{ fs []func() }

func (q *queue) schedule(f func()) { q.fs = append(q.fs, f) }

// runOne runs the callback at index i.
func (q *queue) runOne(i int) {
	f := q.fs[i]
	q.fs = slices.Delete(q.fs, i, i+1)
	f()
}

func (q *queue) drain() {
	for len(q.fs) > 0 {
		q.runOne(0)
	}
}

func newMemHarness(seed uint64) (harness, *Mem, *queue) {
	q := &queue{}
	m := NewMem(rand.New(rand.NewPCG(seed, 0)), q.schedule)
	return harness{fs: m, wait: func(t *testing.T, done *bool) {
		t.Helper()
		for !*done {
			if len(q.fs) == 0 {
				t.Fatal("callback awaited but none is scheduled")
			}
			q.runOne(0)
		}
	}}, m, q
}

// harnesses lists every FS the conformance suite runs against.
func harnesses() map[string]func(t *testing.T) harness {
	return map[string]func(t *testing.T) harness{
		"os": newOSHarness,
		"mem-queued": func(t *testing.T) harness {
			h, _, _ := newMemHarness(1)
			return h
		},
		"mem-immediate": func(t *testing.T) harness {
			m := NewMem(rand.New(rand.NewPCG(2, 0)), func(f func()) { f() })
			return harness{fs: m, wait: func(t *testing.T, done *bool) {
				if !*done {
					t.Fatal("immediate schedule left a callback pending")
				}
			}}
		},
	}
}

func syncFile(t *testing.T, h harness, f File) error {
	t.Helper()
	var err error
	done := false
	f.Sync(func(e error) { err, done = e, true })
	h.wait(t, &done)
	return err
}

func syncDir(t *testing.T, h harness) error {
	t.Helper()
	var err error
	done := false
	h.fs.SyncDir(func(e error) { err, done = e, true })
	h.wait(t, &done)
	return err
}

func mustWrite(t *testing.T, f File, s string) {
	t.Helper()
	if err := f.Write([]byte(s)); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

func mustRead(t *testing.T, fs FS, name, want string) {
	t.Helper()
	got, err := fs.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if string(got) != want {
		t.Fatalf("read %s = %q, want %q", name, got, want)
	}
}

func mustList(t *testing.T, fs FS, want ...string) {
	t.Helper()
	got, err := fs.List()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" {
		t.Fatalf("List (-want +got):\n%s", diff)
	}
}

// TestConformance runs the FS contract against every implementation.
func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, h harness)
	}{
		{"create write read list", func(t *testing.T, h harness) {
			mustList(t, h.fs)
			b, _ := h.fs.Create("b")
			a, _ := h.fs.Create("a")
			mustWrite(t, a, "hello ")
			mustWrite(t, a, "world")
			if a.Size() != 11 || b.Size() != 0 {
				t.Fatalf("sizes %d %d, want 11 0", a.Size(), b.Size())
			}
			mustRead(t, h.fs, "a", "hello world")
			mustRead(t, h.fs, "b", "")
			mustList(t, h.fs, "a", "b")
		}},
		{"write does not keep the caller's buffer", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			p := []byte("abc")
			f.Write(p)
			p[0] = 'x'
			mustRead(t, h.fs, "a", "abc")
		}},
		{"open append continues at the end", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			mustWrite(t, f, "one")
			f.Close()
			g, err := h.fs.OpenAppend("a")
			if err != nil {
				t.Fatal(err)
			}
			if g.Size() != 3 {
				t.Fatalf("size %d, want 3", g.Size())
			}
			mustWrite(t, g, "two")
			mustRead(t, h.fs, "a", "onetwo")
			n, err := h.fs.OpenAppend("new")
			if err != nil || n.Size() != 0 {
				t.Fatalf("OpenAppend of an absent file: size %d, %v", n.Size(), err)
			}
			mustList(t, h.fs, "a", "new")
		}},
		{"create replaces", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			mustWrite(t, f, "old")
			g, _ := h.fs.Create("a")
			mustWrite(t, g, "x")
			mustRead(t, h.fs, "a", "x")
		}},
		{"rename replaces the target", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			mustWrite(t, f, "A")
			g, _ := h.fs.Create("b")
			mustWrite(t, g, "B")
			if err := h.fs.Rename("a", "b"); err != nil {
				t.Fatal(err)
			}
			mustRead(t, h.fs, "b", "A")
			mustList(t, h.fs, "b")
			if _, err := h.fs.ReadFile("a"); !errors.Is(err, ErrNotExist) {
				t.Fatalf("read renamed-away file: %v, want ErrNotExist", err)
			}
			if err := h.fs.Rename("a", "c"); !errors.Is(err, ErrNotExist) {
				t.Fatalf("rename absent file: %v, want ErrNotExist", err)
			}
		}},
		{"remove", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			f.Close()
			if err := h.fs.Remove("a"); err != nil {
				t.Fatal(err)
			}
			mustList(t, h.fs)
			if err := h.fs.Remove("a"); !errors.Is(err, ErrNotExist) {
				t.Fatalf("remove absent file: %v, want ErrNotExist", err)
			}
			if _, err := h.fs.ReadFile("a"); !errors.Is(err, ErrNotExist) {
				t.Fatalf("read absent file: %v, want ErrNotExist", err)
			}
		}},
		{"truncate then append", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			mustWrite(t, f, "abcdef")
			if err := f.Truncate(2); err != nil {
				t.Fatal(err)
			}
			if f.Size() != 2 {
				t.Fatalf("size %d, want 2", f.Size())
			}
			mustWrite(t, f, "XY")
			mustRead(t, h.fs, "a", "abXY")
		}},
		{"sync and syncdir complete", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			mustWrite(t, f, "data")
			if err := syncFile(t, h, f); err != nil {
				t.Fatal(err)
			}
			if err := syncDir(t, h); err != nil {
				t.Fatal(err)
			}
		}},
		{"many syncs all complete", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			n, errs := 0, 0
			for i := range 50 {
				mustWrite(t, f, fmt.Sprint(i))
				f.Sync(func(err error) {
					n++
					if err != nil {
						errs++
					}
				})
			}
			done := false
			h.fs.SyncDir(func(error) { done = true })
			h.wait(t, &done)
			for n < 50 {
				d := false
				f.Sync(func(error) { d = true })
				h.wait(t, &d)
			}
			if errs != 0 {
				t.Fatalf("%d of 50 syncs failed", errs)
			}
		}},
		{"close with a sync pending", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			mustWrite(t, f, "x")
			var err error
			done := false
			f.Sync(func(e error) { err, done = e, true })
			if e := f.Close(); e != nil {
				t.Fatal(e)
			}
			h.wait(t, &done)
			if err != nil {
				t.Fatalf("sync requested before close: %v", err)
			}
		}},
		{"closed file", func(t *testing.T, h harness) {
			f, _ := h.fs.Create("a")
			f.Close()
			if err := f.Write([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("write: %v, want ErrClosed", err)
			}
			if err := f.Truncate(0); !errors.Is(err, ErrClosed) {
				t.Fatalf("truncate: %v, want ErrClosed", err)
			}
			if err := syncFile(t, h, f); !errors.Is(err, ErrClosed) {
				t.Fatalf("sync: %v, want ErrClosed", err)
			}
			if err := f.Close(); !errors.Is(err, ErrClosed) {
				t.Fatalf("second close: %v, want ErrClosed", err)
			}
		}},
		{"bad names", func(t *testing.T, h harness) {
			for _, name := range []string{"", ".", "..", "a/b", "../x", `a\b`, "a\x00"} {
				_, e1 := h.fs.Create(name)
				_, e2 := h.fs.OpenAppend(name)
				_, e3 := h.fs.ReadFile(name)
				e4 := h.fs.Remove(name)
				e5 := h.fs.Rename(name, "ok")
				e6 := h.fs.Rename("ok", name)
				for i, err := range []error{e1, e2, e3, e4, e5, e6} {
					if !errors.Is(err, ErrBadName) {
						t.Errorf("op %d on %q: %v, want ErrBadName", i, name, err)
					}
				}
			}
		}},
	}
	for hname, mk := range harnesses() {
		for _, c := range cases {
			t.Run(hname+"/"+c.name, func(t *testing.T) { c.run(t, mk(t)) })
		}
	}
}

func TestOSClose(t *testing.T) {
	h := newOSHarness(t)
	o := h.fs.(*OS)
	f, _ := o.Create("a")
	mustWrite(t, f, "x")
	var err error
	done := false
	f.Sync(func(e error) { err, done = e, true })
	if e := o.Close(); e != nil {
		t.Fatal(e)
	}
	h.wait(t, &done) // queued before Close: still served
	if err != nil {
		t.Fatalf("sync queued before Close: %v", err)
	}
	if err := syncFile(t, h, f); !errors.Is(err, ErrClosed) {
		t.Fatalf("sync after Close: %v, want ErrClosed", err)
	}
	if err := o.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
}

func TestOSNeedsPost(t *testing.T) {
	if _, err := NewOS(t.TempDir(), nil); err == nil {
		t.Fatal("NewOS with a nil post succeeded")
	}
}

func TestMapErr(t *testing.T) {
	cases := []struct {
		op   string
		err  error
		want error
	}{
		{"write", syscall.ENOSPC, ErrNoSpace},
		{"open", syscall.ENOENT, ErrNotExist},
		{"fsync", syscall.EIO, ErrIO},
	}
	for _, c := range cases {
		if got := mapErr(c.op, "f", c.err); !errors.Is(got, c.want) || !errors.Is(got, c.err) {
			t.Errorf("mapErr(%s, %v) = %v, want it to wrap %v and the original", c.op, c.err, got, c.want)
		}
	}
}
