// Command etcdload is a small load generator for etcd's v3 gRPC API, used by
// bench/compare.sh because Debian's etcd packages do not ship etcd's own
// `benchmark` tool. It speaks gRPC by hand (HTTP/2 without TLS from net/http,
// protobuf encoded by hand), so it needs no module beyond the standard library.
//
// Tests (-t, comma-separated, run in order):
//
//	put   a Put of a -d byte value (etcd benchmark put)
//	get   a linearizable Range of one key (etcd benchmark range --consistency=l)
//	cas   a Txn: if the key's value is the benchmark's value, Put it again
//	      (a compare-and-set; run put first so the keys hold the value)
//	txn2, txn8  a Txn with no compare and 2 or 8 Puts: the drawn key with
//	      "/0", "/1", ... appended (a multi-key atomic write, as memdb's
//	      bench mset2 and mset8)
//
// Output, one line per test, in the shape of `memdb bench -q` (requests per
// second counts the answered ones; any failure makes the exit status 1):
//
//	PUT: 4321 requests per second, p50=12.345 p95=... p99=... max=... msec, errors=0
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client addresses; clients are spread over them")
	clients := flag.Int("c", 64, "concurrent clients (one request in flight each)")
	conns := flag.Int("conns", 8, "HTTP/2 connections, clients spread over them (etcd benchmark's --conns)")
	total := flag.Int("n", 20000, "requests per test")
	size := flag.Int("d", 100, "value size in bytes")
	keyspace := flag.Int("r", 1000, "keyspace: random keys in 0..N-1")
	tests := flag.String("t", "put,get", "tests: put, get, cas, txn2, txn8")
	flag.Parse()

	eps := strings.Split(*endpoints, ",")
	if *conns < 1 {
		*conns = 1
	}
	trs := make([]*http.Client, *conns)
	for i := range trs {
		tr := &http.Transport{Protocols: new(http.Protocols), MaxConnsPerHost: 1}
		tr.Protocols.SetUnencryptedHTTP2(true)
		trs[i] = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	value := bytes.Repeat([]byte("v"), *size)
	for _, t := range strings.Split(*tests, ",") {
		if err := run(t, eps, trs, *clients, *total, *keyspace, value); err != nil {
			fmt.Fprintln(os.Stderr, "etcdload:", err)
			os.Exit(1)
		}
	}
}

func run(test string, eps []string, trs []*http.Client, clients, total, keyspace int, value []byte) error {
	var method string
	var body func(key []byte) []byte
	switch test {
	case "put":
		method = "Put"
		body = func(key []byte) []byte { return putRequest(key, value) }
	case "get":
		method = "Range"
		body = func(key []byte) []byte { return bytesField(nil, 1, key) } // serializable=false: linearizable
	case "cas":
		method = "Txn"
		body = func(key []byte) []byte {
			var cmp []byte
			cmp = varintField(cmp, 2, 3) // target VALUE (result EQUAL is 0, the default)
			cmp = bytesField(cmp, 3, key)
			cmp = bytesField(cmp, 7, value)
			op := bytesField(nil, 2, putRequest(key, value)) // RequestOp.request_put
			return bytesField(bytesField(nil, 1, cmp), 2, op)
		}
	case "txn2", "txn8":
		method = "Txn"
		n := int(test[3] - '0')
		body = func(key []byte) []byte {
			// A Txn with no compare succeeds: its ops go in success
			// (TxnRequest field 2), each a RequestOp.request_put (field 2).
			var out []byte
			for i := range n {
				k := fmt.Appendf(slices.Clip(key), "/%d", i)
				out = bytesField(out, 2, bytesField(nil, 2, putRequest(k, value)))
			}
			return out
		}
	default:
		return fmt.Errorf("unknown test %q", test)
	}
	var next, errs, swapped atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			hc := trs[c%len(trs)]
			url := "http://" + eps[c%len(eps)] + "/etcdserverpb.KV/" + method
			for next.Add(1) <= int64(total) {
				key := fmt.Appendf(nil, "key:%012d", rand.IntN(keyspace))
				t0 := time.Now()
				resp, err := call(hc, url, body(key))
				lat[c] = append(lat[c], time.Since(t0))
				if err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err)
					}
					continue
				}
				if test == "cas" && txnSucceeded(resp) {
					swapped.Add(1)
				}
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	extra := ""
	if test == "cas" {
		extra = fmt.Sprintf(" swapped=%d", swapped.Load())
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()*1000) }
	fmt.Printf("%s: %.0f requests per second, p50=%s p95=%s p99=%s max=%s msec, errors=%d%s\n",
		strings.ToUpper(test), float64(int64(len(all))-errs.Load())/elapsed.Seconds(),
		ms(pct(0.50)), ms(pct(0.95)), ms(pct(0.99)), ms(all[len(all)-1]), errs.Load(), extra)
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("%d of %d requests failed; the first: %v", errs.Load(), len(all), e)
	}
	return nil
}

// call sends one unary gRPC request and returns the response message.
func call(hc *http.Client, url string, msg []byte) ([]byte, error) {
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	frame = append(frame, msg...)
	req, err := http.NewRequest("POST", url, bytes.NewReader(frame))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	status := resp.Trailer.Get("Grpc-Status")
	if status == "" {
		status = resp.Header.Get("Grpc-Status") // a trailers-only answer
	}
	if resp.StatusCode != 200 || status != "0" {
		msg := resp.Trailer.Get("Grpc-Message") + resp.Header.Get("Grpc-Message")
		return nil, fmt.Errorf("http %d grpc-status %q %s", resp.StatusCode, status, msg)
	}
	if len(data) < 5 {
		return nil, errors.New("short gRPC answer")
	}
	return data[5:], nil
}

func putRequest(key, value []byte) []byte {
	return bytesField(bytesField(nil, 1, key), 2, value)
}

func appendVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func bytesField(b []byte, field int, v []byte) []byte {
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func varintField(b []byte, field int, v uint64) []byte {
	return appendVarint(appendVarint(b, uint64(field)<<3), v)
}

// txnSucceeded reads TxnResponse.succeeded (field 2, a bool).
func txnSucceeded(m []byte) bool {
	for len(m) > 0 {
		tag, n := binary.Uvarint(m)
		if n <= 0 {
			return false
		}
		m = m[n:]
		switch tag & 7 {
		case 0:
			v, n := binary.Uvarint(m)
			if n <= 0 {
				return false
			}
			if tag>>3 == 2 {
				return v != 0
			}
			m = m[n:]
		case 2:
			l, n := binary.Uvarint(m)
			if n <= 0 || uint64(len(m)-n) < l {
				return false
			}
			m = m[n+int(l):]
		default:
			return false
		}
	}
	return false
}
