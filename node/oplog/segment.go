package oplog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// File names.
const (
	manifestName = "MANIFEST"
	manifestTemp = "MANIFEST.tmp"
)

// kind is what a segment holds.
type kind uint8

const (
	kindLog  kind = 1 // records appended one by one
	kindBase kind = 2 // a compacted, compressed state
)

func (k kind) String() string {
	switch k {
	case kindLog:
		return "log"
	case kindBase:
		return "base"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// segment names one live segment.
type segment struct {
	num  uint64
	kind kind
}

func (s segment) name() string { return fmt.Sprintf("%06d.%s", s.num, s.kind) }

// parseName reports whether name is a segment file's name, and which.
func parseName(name string) (segment, bool) {
	stem, ext, ok := strings.Cut(name, ".")
	if !ok {
		return segment{}, false
	}
	n, err := strconv.ParseUint(stem, 10, 64)
	if err != nil {
		return segment{}, false
	}
	for _, k := range []kind{kindLog, kindBase} {
		if ext == k.String() {
			return segment{n, k}, true
		}
	}
	return segment{}, false
}

// Format constants: see doc.go.
const (
	version       = 1
	logMagic      = "memdblog"
	baseMagic     = "memdbase"
	manifestMagic = "memdbman"
	logHeaderLen  = 24
	baseHeaderLen = 56
	codecZstd     = 1
)

// Base format versions. A base is written in the newest; the older is
// still read, from data directories written before it.
const (
	// baseSingle: the whole payload in one zstd frame.
	baseSingle = 1
	// baseFrames: a zstd frame per chunk of whole records, and a frame
	// table at the end (frames.go).
	baseFrames = 2
)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// logHeader returns the header that opens log segment num.
func logHeader(num uint64) []byte {
	b := make([]byte, 0, logHeaderLen)
	b = append(b, logMagic...)
	b = binary.BigEndian.AppendUint16(b, version)
	b = binary.BigEndian.AppendUint16(b, uint16(kindLog))
	b = binary.BigEndian.AppendUint64(b, num)
	return binary.BigEndian.AppendUint32(b, crc(b))
}

// checkLogHeader verifies the header of log segment num.
func checkLogHeader(b []byte, num uint64) error {
	switch {
	case len(b) < logHeaderLen:
		return fmt.Errorf("header of %d bytes, want %d", len(b), logHeaderLen)
	case string(b[:8]) != logMagic:
		return fmt.Errorf("bad magic %q", b[:8])
	case crc(b[:20]) != binary.BigEndian.Uint32(b[20:]):
		return fmt.Errorf("header checksum mismatch")
	case binary.BigEndian.Uint16(b[8:]) != version:
		return fmt.Errorf("format version %d, this build reads %d", binary.BigEndian.Uint16(b[8:]), version)
	case binary.BigEndian.Uint64(b[12:]) != num:
		return fmt.Errorf("header says segment %d", binary.BigEndian.Uint64(b[12:]))
	}
	return nil
}

// baseHeader is the fixed part of a base segment, of either version.
type baseHeader struct {
	hversion uint16
	codec    uint16
	num      uint64
	records  uint64
	rawLen   uint64
	// zLen and zCRC are the single frame's length and checksum
	// (baseSingle); frames is the number of frames (baseFrames).
	zLen   uint64
	zCRC   uint32
	frames uint64
}

// encode returns the header of a base in the newest version: the only one
// this build writes.
func (h baseHeader) encode() []byte {
	b := make([]byte, 0, baseHeaderLen)
	b = append(b, baseMagic...)
	b = binary.BigEndian.AppendUint16(b, baseFrames)
	b = binary.BigEndian.AppendUint16(b, codecZstd)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint64(b, h.num)
	b = binary.BigEndian.AppendUint64(b, h.records)
	b = binary.BigEndian.AppendUint64(b, h.rawLen)
	b = binary.BigEndian.AppendUint64(b, h.frames)
	b = binary.BigEndian.AppendUint32(b, 0)
	return binary.BigEndian.AppendUint32(b, crc(b))
}

func decodeBaseHeader(b []byte) (baseHeader, error) {
	if len(b) < baseHeaderLen {
		return baseHeader{}, fmt.Errorf("header of %d bytes, want %d", len(b), baseHeaderLen)
	}
	if string(b[:8]) != baseMagic {
		return baseHeader{}, fmt.Errorf("bad magic %q", b[:8])
	}
	if crc(b[:52]) != binary.BigEndian.Uint32(b[52:]) {
		return baseHeader{}, fmt.Errorf("header checksum mismatch")
	}
	h := baseHeader{
		hversion: binary.BigEndian.Uint16(b[8:]),
		codec:    binary.BigEndian.Uint16(b[10:]),
		num:      binary.BigEndian.Uint64(b[16:]),
		records:  binary.BigEndian.Uint64(b[24:]),
		rawLen:   binary.BigEndian.Uint64(b[32:]),
	}
	switch h.hversion {
	case baseSingle:
		h.zLen, h.zCRC = binary.BigEndian.Uint64(b[40:]), binary.BigEndian.Uint32(b[48:])
	case baseFrames:
		h.frames = binary.BigEndian.Uint64(b[40:])
	default:
		return h, fmt.Errorf("format version %d, this build reads %d and %d", h.hversion, baseSingle, baseFrames)
	}
	if h.codec != codecZstd {
		return h, fmt.Errorf("unknown codec %d", h.codec)
	}
	return h, nil
}

// manifest is the list of live segments, in replay order, and the next
// segment number to use.
type manifest struct {
	segs []segment
	next uint64
}

func (m manifest) encode() []byte {
	b := make([]byte, 0, 28+9*len(m.segs))
	b = append(b, manifestMagic...)
	b = binary.BigEndian.AppendUint16(b, version)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.segs)))
	b = binary.BigEndian.AppendUint64(b, m.next)
	for _, s := range m.segs {
		b = binary.BigEndian.AppendUint64(b, s.num)
		b = append(b, byte(s.kind))
	}
	return binary.BigEndian.AppendUint32(b, crc(b))
}

// decodeManifest parses and checks a manifest: a base, if any, comes first,
// the last segment is a log, numbers rise and stay below next.
func decodeManifest(b []byte) (manifest, error) {
	if len(b) < 28 || !bytes.Equal(b[:8], []byte(manifestMagic)) {
		return manifest{}, fmt.Errorf("not a manifest (%d bytes)", len(b))
	}
	if crc(b[:len(b)-4]) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return manifest{}, fmt.Errorf("checksum mismatch")
	}
	if v := binary.BigEndian.Uint16(b[8:]); v != version {
		return manifest{}, fmt.Errorf("format version %d, this build reads %d", v, version)
	}
	n := binary.BigEndian.Uint32(b[12:])
	if uint64(len(b)) != 28+9*uint64(n) {
		return manifest{}, fmt.Errorf("%d bytes for %d segments", len(b), n)
	}
	m := manifest{next: binary.BigEndian.Uint64(b[16:])}
	p := b[24:]
	for i := range int(n) {
		s := segment{num: binary.BigEndian.Uint64(p), kind: kind(p[8])}
		p = p[9:]
		switch {
		case s.kind != kindLog && s.kind != kindBase:
			return manifest{}, fmt.Errorf("entry %d: unknown kind %d", i, s.kind)
		case s.kind == kindBase && i != 0:
			return manifest{}, fmt.Errorf("entry %d: a base segment after the first entry", i)
		case i > 0 && s.num <= m.segs[i-1].num:
			return manifest{}, fmt.Errorf("entry %d: segment %d not after %d", i, s.num, m.segs[i-1].num)
		case s.num >= m.next:
			return manifest{}, fmt.Errorf("entry %d: segment %d not below next %d", i, s.num, m.next)
		}
		m.segs = append(m.segs, s)
	}
	if len(m.segs) == 0 || m.segs[len(m.segs)-1].kind != kindLog {
		return manifest{}, fmt.Errorf("no log segment last")
	}
	return m, nil
}
