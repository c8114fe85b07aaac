// Package java holds the Go side of the Java client's tests; the client
// itself is the Java library under src/ (see README.md, "Java client").
//
// golden_test.go writes testdata/golden.txt from the Go codec, the ring and
// go-farm: frames of every kind the Java client sends or reads, the
// handshake's proofs, farm.Fingerprint64 values, a ring's encoding and its
// keys' replicas. The Java tests (CodecTest, FarmTest, RingTest) read the
// same file and check that the Java code produces or understands exactly
// those bytes, so neither side can drift: a change to the Go codec changes
// the file (go test ./java fails until it is rewritten with -rewrite), and
// the rewritten file fails the Java tests until the Java side follows.
//
// bench_test.go is the Go half of the PAPER's Java-beside-Go measurement
// (java/bench.sh); it runs only when given -load.addrs.
package java
