package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The client against a real 3-node cluster (rf 3, fsync always, a client
 * key): the MemDB seed's snippet, a lock taken by cas from 8 threads, reads
 * with a node killed, and a wrong key refused. The test that kills nodes
 * runs last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterTest {
    private static final String KEY = "123";
    private static LocalCluster cluster;
    private static MemDb memDb;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = LocalCluster.start(3, KEY);
        memDb = MemDbConnections.cluster(KEY, cluster.addrs);
    }

    @AfterAll
    static void stopCluster() {
        if (memDb != null) {
            memDb.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void theSeedSnippet() throws Exception {
        List<String> seedNodeAddresses = cluster.addrs;
        MemDb memDb = MemDbConnections.cluster(KEY, seedNodeAddresses);
        try (memDb) {
            memDb.set("key1", "value1");
            String slowValue = memDb.quorumGet("key1")
                    .awaitQuorum(2, TimeUnit.SECONDS)
                    .orElseThrow(() -> new RuntimeException("Quorum not reached"));
            String fastValue = memDb.get("key1");
            assertEquals("value1", slowValue);
            assertEquals("value1", fastValue);
            assertTrue(((Client) memDb).routed(), "the client learned the ring");
            assertEquals(3, ((Client) memDb).routeOf("key1").size());
        }
    }

    @Test
    @Order(2)
    void crudAtEveryLevel() {
        for (Consistency c : new Consistency[] {Consistency.ONE, Consistency.QUORUM, Consistency.ALL}) {
            String k = "crud-" + c;
            // A write at ONE is on one replica when acknowledged, and a read
            // at ONE may ask another: read back at ALL, which asks every
            // replica; QUORUM and ALL read their own writes.
            Consistency read = c == Consistency.ONE ? Consistency.ALL : c;
            assertNull(memDb.get(k, c));
            assertFalse(memDb.contains(k, c));
            memDb.set(k, "v-" + c, c);
            assertEquals("v-" + c, memDb.get(k, read));
            assertTrue(memDb.contains(k, read));
            memDb.delete(k, c);
            assertNull(memDb.get(k, read));
            assertEquals(Optional.empty(), memDb.quorumGet(k).awaitQuorum(2, TimeUnit.SECONDS));
        }
        memDb.set("serial", "s", Consistency.SERIAL);
        assertEquals("s", memDb.get("serial", Consistency.SERIAL));
        assertThrows(NotSupportedException.class, () -> memDb.delete("serial", Consistency.SERIAL),
                "a serial delete is refused by the node");
        byte[] bin = {0, 1, 2, (byte) 0xff};
        memDb.set("bytes", bin, Consistency.QUORUM);
        assertArrayEquals(bin, memDb.getBytes("bytes", Consistency.QUORUM));
        memDb.set("empty", "");
        assertEquals("", memDb.get("empty"));
        memDb.set("ключ", "значение");
        assertEquals("значение", memDb.get("ключ"));
        assertThrows(IllegalArgumentException.class, () -> memDb.get(""));
        assertThrows(NotSupportedException.class, () -> memDb.set("\0memdb/lock", "x"),
                "keys of the cluster's own are refused");
    }

    @Test
    @Order(3)
    void asyncVariants() throws Exception {
        List<CompletableFuture<Void>> sets = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            sets.add(memDb.setAsync("async-" + i, "v" + i));
        }
        CompletableFuture.allOf(sets.toArray(new CompletableFuture<?>[0])).get(10, TimeUnit.SECONDS);
        for (int i = 0; i < 200; i += 17) {
            assertEquals(Optional.of("v" + i), memDb.getAsync("async-" + i).get(5, TimeUnit.SECONDS));
        }
        assertTrue(memDb.containsAsync("async-3").get(5, TimeUnit.SECONDS));
        assertTrue(memDb.casAsync("async-3", "v3", "w3").get(5, TimeUnit.SECONDS));
        assertFalse(memDb.casAsync("async-3", "v3", "x3").get(5, TimeUnit.SECONDS));
        memDb.deleteAsync("async-3").get(5, TimeUnit.SECONDS);
        assertEquals(Optional.empty(), memDb.getAsync("async-3", Consistency.ALL).get(5, TimeUnit.SECONDS));
    }

    @Test
    @Order(4)
    void casSemantics() {
        assertTrue(memDb.cas("cas-key", null, "a"), "absent → a");
        assertFalse(memDb.cas("cas-key", null, "b"), "not absent any more");
        assertFalse(memDb.cas("cas-key", "b", "c"));
        assertTrue(memDb.cas("cas-key", "a", "b"));
        assertEquals("b", memDb.get("cas-key", Consistency.SERIAL));
    }

    /**
     * Counters on the real cluster (end to end: skipped until the nodes
     * serve them, i.e. until the node side of counters is merged).
     */
    @Test
    @Order(5)
    void counters() {
        long first;
        try {
            first = memDb.incr("counter");
        } catch (ServerException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(e.code() != Codec.CODE_UNKNOWN_KIND,
                    "the nodes do not serve counters yet: " + e.getMessage());
            throw e;
        }
        assertEquals(1, first);
        assertEquals(11, memDb.incr("counter", 10));
        assertEquals(9, memDb.decr("counter", 2));
        assertEquals(8, memDb.decr("counter"));
        // The seed's counter line, as written.
        int counterValue = memDb.getQuorumCounter("counter")
                .awaitQuorum(2, TimeUnit.SECONDS)
                .orElseThrow(() -> new RuntimeException("Quorum not reached"));
        assertEquals(8, counterValue);
        assertEquals(8, memDb.counter("counter", Consistency.ALL));
        assertEquals(Optional.of(0L), memDb.getQuorumCounterLong("never-counted").awaitQuorum(2, TimeUnit.SECONDS));
        memDb.set("plain", "v");
        assertThrows(WrongKindException.class, () -> memDb.incr("plain"));
        assertThrows(WrongKindException.class, () -> memDb.get("counter"));
    }

    /**
     * The seed's lock loop from 8 threads over two clients: every thread
     * takes the lock with cas(locked, false, true) a few times, and inside
     * it checks that it is alone and increments a plain counter key by
     * read-then-write; the counter ends exact only if no two threads were
     * ever inside at once. The backoff is the seed's shape, scaled down
     * (1–20 ms, not 100–1600 ms) so the test takes seconds.
     */
    @Test
    @Order(5)
    void batches() {
        java.util.Map<String, String> w = new java.util.LinkedHashMap<>();
        w.put("batch-a", "1");
        w.put("batch-b", "2");
        w.put("batch-c", "3");
        memDb.batch(w);
        for (Consistency c : List.of(Consistency.QUORUM, Consistency.ALL, Consistency.SERIAL)) {
            assertEquals("1", memDb.get("batch-a", c));
            assertEquals("2", memDb.get("batch-b", c));
            assertEquals("3", memDb.get("batch-c", c));
        }
        java.util.Map<String, String> w2 = new java.util.LinkedHashMap<>();
        w2.put("batch-a", "4");
        w2.put("batch-b", null); // a delete
        memDb.batch(w2);
        assertEquals("4", memDb.get("batch-a", Consistency.QUORUM));
        assertNull(memDb.get("batch-b", Consistency.QUORUM));
        assertEquals("3", memDb.get("batch-c", Consistency.QUORUM));
        // Refused before anything is sent.
        assertThrows(IllegalArgumentException.class, () -> memDb.batch(java.util.Map.of()));
        java.util.Map<String, String> big = new java.util.LinkedHashMap<>();
        for (int i = 0; i <= 128; i++) {
            big.put("k" + i, "v");
        }
        assertThrows(IllegalArgumentException.class, () -> memDb.batch(big));
        // A counter cannot be written by a batch, and nothing of it applies.
        memDb.incr("batch-counter");
        java.util.Map<String, String> w3 = new java.util.LinkedHashMap<>();
        w3.put("batch-c", "5");
        w3.put("batch-counter", "x");
        MemDbException e = assertThrows(MemDbException.class, () -> memDb.batch(w3));
        assertTrue(e instanceof WrongKindException || e instanceof AbortedException, "got " + e);
        assertEquals("3", memDb.get("batch-c", Consistency.QUORUM));
    }

    @Test
    @Order(6)
    void casLockIsMutuallyExclusive() throws Exception {
        final int threads = 8;
        final int rounds = 4;
        MemDb other = MemDbConnections.cluster(KEY, cluster.addrs);
        try (other) {
            assertTrue(memDb.cas("locked", null, "false"));
            memDb.set("guarded", "0");
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger maxInside = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                MemDb db = t % 2 == 0 ? memDb : other;
                ts.add(new Thread(() -> {
                    try {
                        for (int r = 0; r < rounds; r++) {
                            while (!lock(db)) {
                                Thread.sleep(ThreadLocalRandom.current().nextLong(1, 20));
                            }
                            int now = inside.incrementAndGet();
                            maxInside.accumulateAndGet(now, Math::max);
                            int v = Integer.parseInt(db.get("guarded"));
                            db.set("guarded", Integer.toString(v + 1));
                            inside.decrementAndGet();
                            assertTrue(db.cas("locked", "true", "false"), "the holder releases the lock");
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            ts.forEach(Thread::start);
            for (Thread t : ts) {
                t.join();
            }
            if (!errors.isEmpty()) {
                fail("a locker failed", errors.peek());
            }
            assertEquals(1, maxInside.get(), "at most one thread inside the lock");
            assertEquals(Integer.toString(threads * rounds), memDb.get("guarded"));
            assertEquals("false", memDb.get("locked", Consistency.SERIAL));
        }
    }

    /** The seed's acquire; a cas that lost to contention did not happen, so it just failed to take the lock. */
    private static boolean lock(MemDb db) {
        try {
            return db.cas("locked", "false", "true");
        } catch (ContentionException e) {
            return false;
        }
    }

    @Test
    @Order(7)
    void wrongKeyIsRefused() {
        AuthException e = assertThrows(AuthException.class, () -> MemDbConnections.cluster("wrong", cluster.addrs));
        assertTrue(e.getMessage().contains("auth refused"), e.getMessage());
        assertThrows(AuthException.class, () -> MemDbConnections.node("", cluster.addrs.get(1)));
    }

    @Test
    @Order(8)
    void singleNodeForm() {
        try (MemDb one = MemDbConnections.node(KEY, cluster.addrs.get(2))) {
            one.set("single", "x");
            assertEquals("x", one.get("single"));
            assertFalse(((Client) one).routed());
        }
    }

    @Test
    @Order(9)
    void unreachable() {
        assertThrows(UnreachableException.class, () -> MemDbConnections.node(KEY, "127.0.0.1:1"));
    }

    /**
     * With one of three nodes killed, every key still reads at quorum (a
     * read routed to the dead replica moves on to the next), and writes at
     * quorum succeed; with two killed, a quorum read fails typed.
     */
    @Test
    @Order(100)
    void quorumGetWithANodeKilled() throws Exception {
        for (int i = 0; i < 60; i++) {
            memDb.set("kill-" + i, "v" + i, Consistency.ALL);
        }
        cluster.kill(2);
        for (int i = 0; i < 60; i++) {
            assertEquals("v" + i, memDb.quorumGet("kill-" + i)
                    .awaitQuorum(2, TimeUnit.SECONDS)
                    .orElseThrow(() -> new RuntimeException("Quorum not reached")));
        }
        memDb.set("after-kill", "yes");
        assertEquals("yes", memDb.get("after-kill"));

        cluster.kill(3);
        MemDbException e = assertThrows(MemDbException.class,
                () -> memDb.quorumGet("kill-1").awaitQuorum(10, TimeUnit.SECONDS));
        assertTrue(e instanceof QuorumNotReachedException || e instanceof MemDbTimeoutException,
                "want quorum not reached, got " + e);
        assertEquals("v1", memDb.get("kill-1", Consistency.ONE), "one replica still answers at ONE");
    }
}
