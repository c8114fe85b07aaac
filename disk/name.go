package disk

import (
	"errors"
	"fmt"
	"strings"
)

// More errors, beside those in disk.go.
var (
	// ErrBadName: a file name that is empty, ".", "..", or holds a path
	// separator or NUL. FS names are plain names inside one directory.
	ErrBadName = errors.New("bad file name")
	// ErrIO: the device reported an I/O error (an fsync that failed). What
	// was written since the last successful sync is in an unknown state.
	ErrIO = errors.New("input/output error")
)

// checkName returns an error wrapping ErrBadName unless name is a plain
// file name.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("disk: %q: %w", name, ErrBadName)
	}
	return nil
}
