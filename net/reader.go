package net

import (
	"errors"
	"io"
)

// reader turns a byte stream into frames, decoding everything each read
// brings in one go.
type reader struct {
	nc  io.Reader
	buf []byte // buffered bytes not yet decoded
	// reject answers an intact frame of an unknown kind; the connection
	// goes on.
	reject func(Frame)
}

const minRead = 64 << 10

// frames reads once and returns every complete frame buffered. A non-nil
// error ends the connection: io.EOF, a network error, or a *frameError for
// bad input; frames decoded before it are returned with it.
func (r *reader) frames() ([]Frame, error) {
	rerr := r.fill()
	fs, err := r.decodeAll()
	if err != nil {
		return fs, err
	}
	if rerr != nil && len(r.buf) > 0 && errors.Is(rerr, io.EOF) {
		rerr = io.ErrUnexpectedEOF
	}
	return fs, rerr
}

// one reads until one whole frame is buffered and returns it; any bytes
// after it stay buffered.
func (r *reader) one() (Frame, error) {
	for {
		f, n, err := Decode(r.buf)
		switch {
		case err == nil:
			r.buf = r.buf[:copy(r.buf, r.buf[n:])]
			return f, nil
		case errors.Is(err, ErrShort):
			if err := r.fill(); err != nil {
				return Frame{}, err
			}
		default:
			return Frame{}, &frameError{id: f.ID, err: err}
		}
	}
}

func (r *reader) decodeAll() (fs []Frame, err error) {
	off := 0
	defer func() { r.buf = r.buf[:copy(r.buf, r.buf[off:])] }()
	// One decoder for all the frames (each frame's message still gets a
	// copy of its own bytes: a message the node keeps, a hint, must not
	// pin the rest of what was read), and fs sized for them at once.
	count := 0
	for end := 0; ; count++ {
		n, err := FrameLen(r.buf[end:])
		if err != nil || len(r.buf)-end < n {
			break
		}
		end += n
	}
	if count > 0 {
		fs = make([]Frame, 0, count)
	}
	d := new(decoder)
	for {
		f, n, derr := decodeFrame(r.buf[off:], d)
		switch {
		case derr == nil:
			fs = append(fs, f)
			off += n
		case errors.Is(derr, ErrShort):
			return fs, nil
		case n > 0 && errors.Is(derr, ErrUnknownKind):
			r.reject(Frame{ID: f.ID, Msg: &Error{Code: CodeUnknownKind, Message: derr.Error()}})
			off += n
		default:
			return fs, &frameError{id: f.ID, err: derr}
		}
	}
}

// keepRead is the most buffer a reader keeps between frames: one grown
// for a large frame (a hint batch, a streamed batch, a big value) is given
// back once that frame is decoded, so an idle connection holds at most
// this much, not its largest frame for the rest of its life.
const keepRead = 16 * minRead

// fill reads once, first growing the buffer so the frame at its start fits
// (or shrinking one grown for a frame already decoded).
func (r *reader) fill() error {
	need := minRead
	if n, err := FrameLen(r.buf); err == nil && n > need {
		need = n
	}
	if cap(r.buf) > keepRead && need <= minRead && len(r.buf) <= minRead/2 {
		r.buf = append(make([]byte, 0, minRead), r.buf...)
	}
	if cap(r.buf) < need || cap(r.buf)-len(r.buf) < 4<<10 {
		nb := make([]byte, len(r.buf), max(need, 2*cap(r.buf), minRead))
		copy(nb, r.buf)
		r.buf = nb
	}
	n, err := r.nc.Read(r.buf[len(r.buf):cap(r.buf)])
	r.buf = r.buf[:len(r.buf)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}
