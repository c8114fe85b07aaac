package host

import (
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/memdb/memdb/net/resp"
	"pgregory.net/rapid"
)

// chunked reads its data in the sizes it is given, as a socket may.
type chunked struct {
	data  []byte
	sizes []int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(c.data), len(p))
	if len(c.sizes) > 0 {
		n = min(n, max(c.sizes[0], 1))
		c.sizes = c.sizes[1:]
	}
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// However a stream of commands is cut into reads, the reader gives back
// the same commands, each argument whole and its own (the reader's buffer
// is reused and rebased; the review of the front door asked for this).
func TestRESPReaderSplits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		arg := rapid.SliceOfN(rapid.Byte(), 0, 40)
		cmds := rapid.SliceOfN(rapid.SliceOfN(arg, 1, 4), 1, 12).Draw(t, "commands")
		var stream []byte
		for _, c := range cmds {
			stream = resp.AppendArray(stream, len(c))
			for _, a := range c {
				stream = resp.AppendBulk(stream, a)
			}
		}
		sizes := rapid.SliceOfN(rapid.IntRange(1, 64), 0, 200).Draw(t, "read sizes")
		r := respReader{nc: &chunked{data: stream, sizes: sizes}}
		var got [][][]byte
		for range 10000 {
			batch, err := r.read()
			got = append(got, batch...)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("read: %v after %d commands", err, len(got))
			}
		}
		// Compare as strings: a nil and an empty argument are the same.
		str := func(cs [][][]byte) [][]string {
			out := make([][]string, len(cs))
			for i, c := range cs {
				for _, a := range c {
					out[i] = append(out[i], string(a))
				}
			}
			return out
		}
		if diff := cmp.Diff(str(cmds), str(got)); diff != "" {
			t.Fatalf("commands (-sent +read):\n%s", diff)
		}
		// Each argument is its own: writing into one changes no other.
		for _, c := range got {
			for _, a := range c {
				for i := range a {
					a[i] ^= 0xff
				}
			}
		}
		for i, c := range got {
			for j, a := range c {
				for k := range a {
					if a[k]^0xff != cmds[i][j][k] {
						t.Fatalf("command %d argument %d shares memory with another", i, j)
					}
				}
			}
		}
	})
}
