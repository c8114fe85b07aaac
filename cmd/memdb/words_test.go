package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"", nil},
		{"   \t ", nil},
		{"get k", []string{"get", "k"}},
		{"  set  k\tv  ", []string{"set", "k", "v"}},
		{`set k "hello world"`, []string{"set", "k", "hello world"}},
		{`set k ""`, []string{"set", "k", ""}},
		{`a"b c"d`, []string{"ab cd"}},
		{`"\" \\ \n \r \t \x41\xff"`, []string{"\" \\ \n \r \t A\xff"}},
		{`back\slash`, []string{`back\slash`}},
		{`"a""b"`, []string{"ab"}},
		{`"(nil)"`, []string{"(nil)"}},
		{"unicode ünï", []string{"unicode", "ünï"}},
	}
	for _, tc := range tests {
		got, err := split(tc.line)
		if err != nil {
			t.Errorf("split(%q): %v", tc.line, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("split(%q) (-want +got):\n%s", tc.line, diff)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	for _, line := range []string{`"open`, `set k "v`, `"\q"`, `"\x4"`, `"\xzz"`, `"ends in \`, `"\`} {
		if got, err := split(line); !errors.Is(err, errQuote) {
			t.Errorf("split(%q) = %q, %v; want an error wrapping errQuote", line, got, err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		value, want string
	}{
		{"hello", "hello"},
		{"hello world", "hello world"},
		{"ünï", "ünï"},
		{"", `""`},
		{"(nil)", `"(nil)"`},
		{`say "hi"`, `"say \"hi\""`},
		{"two\nlines", `"two\nlines"`},
		{"tab\there", `"tab\there"`},
		{" padded ", `" padded "`},
		{"\x00\x7f\xff", `"\x00\x7f\xff"`},
		{`back\slash`, `back\slash`},
		{"\"\\", `"\"\\"`},
	}
	for _, tc := range tests {
		if got := format([]byte(tc.value)); got != tc.want {
			t.Errorf("format(%q) = %s, want %s", tc.value, got, tc.want)
		}
	}
}

// Whatever the value, quote writes one word that split reads back as it,
// and format prints it either as it is or quoted.
func TestQuoteRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.SliceOf(rapid.Byte()).Draw(t, "value")
		got, err := split(quote(v))
		if err != nil {
			t.Fatalf("split(quote(%q)) = %q: %v", v, quote(v), err)
		}
		if len(got) != 1 || got[0] != string(v) {
			t.Fatalf("split(quote(%q)) = %q; want [%q]", v, got, v)
		}
		f := format(v)
		if f != string(v) && f != quote(v) {
			t.Fatalf("format(%q) = %q; want the value itself or %q", v, f, quote(v))
		}
		if strings.ContainsAny(f, "\r\n") {
			t.Fatalf("format(%q) = %q spans lines; want one line", v, f)
		}
	})
}

// splitQuoted says which words had a quoted part, so that cas can tell
// the bare (nil) from the value "(nil)".
func TestSplitQuoted(t *testing.T) {
	tests := []struct {
		line   string
		words  []string
		quoted []bool
	}{
		{"", nil, nil},
		{`cas k (nil) v`, []string{"cas", "k", "(nil)", "v"}, []bool{false, false, false, false}},
		{`cas k "(nil)" v`, []string{"cas", "k", "(nil)", "v"}, []bool{false, false, true, false}},
		{`a"b c"d ""  e`, []string{"ab cd", "", "e"}, []bool{true, true, false}},
		{`(ni"l)"`, []string{"(nil)"}, []bool{true}},
	}
	for _, tc := range tests {
		words, quoted, err := splitQuoted(tc.line)
		if err != nil {
			t.Errorf("splitQuoted(%q): %v", tc.line, err)
			continue
		}
		if diff := cmp.Diff(tc.words, words); diff != "" {
			t.Errorf("splitQuoted(%q) words (-want +got):\n%s", tc.line, diff)
		}
		if diff := cmp.Diff(tc.quoted, quoted); diff != "" {
			t.Errorf("splitQuoted(%q) quoted (-want +got):\n%s", tc.line, diff)
		}
	}
}
