package io.memdb.client;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load from the Java client, for PAPER's Java-beside-Go table (java/bench.sh
 * runs it beside the Go side, java/bench_test.go, on the same cluster): 1024
 * keys, 100-byte values, default (quorum) level, one shared client, and
 * for each op and thread count it prints ops/s and the p50 and p99 of one
 * call.
 *
 * <pre>java -cp target/classes:target/test-classes io.memdb.client.Bench ADDRS KEY OPS</pre>
 */
public final class Bench {
    private Bench() {}

    public static void main(String[] args) throws Exception {
        List<String> addrs = Arrays.asList(args[0].split(","));
        String key = args[1];
        int ops = Integer.parseInt(args[2]);
        String value = "x".repeat(100);
        String[] keys = new String[1024];
        try (MemDb db = MemDbConnections.cluster(key, addrs)) {
            for (int i = 0; i < keys.length; i++) {
                keys[i] = String.format("key-%04d", i);
                db.set(keys[i], value);
            }
            // Warm the JIT before measuring.
            run(db, keys, value, false, 16, ops / 2);
            run(db, keys, value, true, 16, ops / 4);
            for (boolean write : new boolean[] {true, false}) {
                for (int threads : new int[] {1, 64}) {
                    long h0 = db instanceof Client c ? c.hedged.get() : 0;
                    long[] r = run(db, keys, value, write, threads, ops);
                    long hedges = db instanceof Client c ? c.hedged.get() - h0 : 0;
                    System.out.printf("java %s threads=%d ops=%d ops/s=%d p50-us=%d p99-us=%d hedged=%d%n",
                            write ? "set" : "get", threads, ops, r[0], r[1], r[2], hedges);
                }
            }
        }
    }

    /** Runs ops calls from threads threads; returns ops/s, p50 µs, p99 µs. */
    private static long[] run(MemDb db, String[] keys, String value, boolean write, int threads, int ops)
            throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        long[][] lat = new long[threads][];
        List<Thread> ts = new ArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            final int w = t;
            Thread th = new Thread(() -> {
                long[] mine = new long[ops];
                int n = 0;
                for (int i; (i = next.getAndIncrement()) < ops; ) {
                    String k = keys[i % keys.length];
                    long t0 = System.nanoTime();
                    if (write) {
                        db.set(k, value);
                    } else {
                        db.get(k);
                    }
                    mine[n++] = System.nanoTime() - t0;
                }
                lat[w] = Arrays.copyOf(mine, n);
            });
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        long elapsed = System.nanoTime() - start;
        long[] all = Arrays.stream(lat).flatMapToLong(Arrays::stream).sorted().toArray();
        return new long[] {(long) (ops / (elapsed / 1e9)), all[all.length / 2] / 1000,
            all[Math.min(all.length - 1, (int) (all.length * 0.99))] / 1000};
    }
}
