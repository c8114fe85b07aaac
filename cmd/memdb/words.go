package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// errQuote wraps every error of split: the line's quoting is wrong.
var errQuote = errors.New("bad quoting")

// split cuts a command line into words. Words are separated by spaces and
// tabs. A double-quoted part may hold blanks and these escapes:
//
//	\"  \\  \n  \r  \t  \xHH (one byte, two hex digits)
//
// Quoted and bare parts that touch form one word (a"b c"d is `ab cd`), and
// "" is an empty word. Outside quotes a backslash is an ordinary character.
func split(line string) ([]string, error) {
	words, _, err := splitQuoted(line)
	return words, err
}

// splitQuoted is split that also says, for each word, whether any part of
// it was quoted: a bare (nil) is the word for "no value", a quoted one is
// the five bytes, as format prints them.
func splitQuoted(line string) (words []string, quoted []bool, err error) {
	var (
		word strings.Builder
		in   bool // inside a word
		q    bool // the word has a quoted part
	)
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; ch {
		case ' ', '\t':
			if in {
				words, quoted = append(words, word.String()), append(quoted, q)
				word.Reset()
				in, q = false, false
			}
		case '"':
			in, q = true, true
			n, err := unquote(line[i:], &word)
			if err != nil {
				return nil, nil, err
			}
			i += n - 1
		default:
			in = true
			word.WriteByte(ch)
		}
	}
	if in {
		words, quoted = append(words, word.String()), append(quoted, q)
	}
	return words, quoted, nil
}

// unquote decodes the quoted part at the start of s (which starts with a
// double quote) into w, and returns the number of bytes it took.
func unquote(s string, w *strings.Builder) (int, error) {
	for i := 1; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '"':
			return i + 1, nil
		case '\\':
			if i+1 == len(s) {
				return 0, fmt.Errorf("%w: the line ends inside an escape", errQuote)
			}
			i++
			switch e := s[i]; e {
			case '"', '\\':
				w.WriteByte(e)
			case 'n':
				w.WriteByte('\n')
			case 'r':
				w.WriteByte('\r')
			case 't':
				w.WriteByte('\t')
			case 'x':
				if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
					return 0, fmt.Errorf(`%w: \x needs two hex digits`, errQuote)
				}
				w.WriteByte(byte(unhex(s[i+1])<<4 | unhex(s[i+2])))
				i += 2
			default:
				return 0, fmt.Errorf(`%w: unknown escape \%c (use \" \\ \n \r \t or \xHH)`, errQuote, e)
			}
		default:
			w.WriteByte(ch)
		}
	}
	return 0, fmt.Errorf("%w: a double quote is not closed", errQuote)
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// nilWord is what get prints for an absent key, and what cas takes, bare,
// for "absent".
const nilWord = "(nil)"

// format renders a value for output. A value is printed as it is, unless
// printing it so would be ambiguous or break the one-line-per-answer rule:
// when it is empty or is (nil), or holds a double quote, a control
// character or invalid UTF-8, or starts or ends with a space. Then it is printed double-quoted with the
// escapes split understands, so what is printed can be typed back.
func format(v []byte) string {
	if !needsQuotes(v) {
		return string(v)
	}
	return quote(v)
}

// quote renders v as one double-quoted word that split reads back as v.
func quote(v []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for len(v) > 0 {
		r, n := utf8.DecodeRune(v)
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError && n == 1, r < 0x20, r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, v[0])
		default:
			b.Write(v[:n])
		}
		v = v[n:]
	}
	b.WriteByte('"')
	return b.String()
}

func needsQuotes(v []byte) bool {
	if len(v) == 0 || string(v) == nilWord || v[0] == ' ' || v[len(v)-1] == ' ' || !utf8.Valid(v) {
		return true
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f || c == '"' {
			return true
		}
	}
	return false
}
