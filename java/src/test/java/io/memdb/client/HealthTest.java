package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Node health (issue 21), against three fake nodes serving one ring at rf
 * 3, as the Go client's health_test.go: a write sent to a paused node is
 * never sent again and ends unknown, a read is hedged to the next replica,
 * a serial read is not, a slow node is tried last and probed back, and
 * without routing (or with tracking and hedging turned off) none of it
 * runs. The paused node is node 1 and the keys are ones it comes first for.
 * Nothing here depends on how fast the machine is: every bound a healthy
 * node could miss only moves calls between healthy nodes, which the tests
 * allow.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HealthTest {
    /** Fake nodes 1, 2 and 3 (nodes[id]), each serving the ring of all three at rf 3. */
    private static final class Cluster implements AutoCloseable {
        final FakeNode[] nodes = new FakeNode[4];

        Cluster() throws IOException {
            for (int id = 1; id <= 3; id++) {
                nodes[id] = new FakeNode("k", FakeNode.Mode.ANSWER);
            }
            byte[] info = FakeNode.ringInfo(3, new int[] {1, 2, 3}, nodes[1], nodes[2], nodes[3]);
            for (int id = 1; id <= 3; id++) {
                nodes[id].ringInfo = info;
            }
        }

        FakeNode at(String addr) {
            for (int id = 1; id <= 3; id++) {
                if (nodes[id].addr.equals(addr)) {
                    return nodes[id];
                }
            }
            throw new AssertionError("no fake node at " + addr);
        }

        /** Forgets what every node received. */
        void take() {
            for (int id = 1; id <= 3; id++) {
                nodes[id].received.clear();
            }
        }

        @Override
        public void close() throws IOException {
            for (int id = 1; id <= 3; id++) {
                nodes[id].resume();
                nodes[id].close();
            }
        }
    }

    /** A client of the cluster through node 2, which learns the ring from it. */
    private static Client client(Cluster fc, Options.Builder b) {
        Client c = Client.connect(b.key("k").seeds(List.of(fc.nodes[2].addr)).ringRefresh(Duration.ZERO).build());
        assertTrue(c.routed(), "the client learned the fake ring");
        return c;
    }

    /** n keys whose preference list starts with node; each key's list, by address, in route. */
    private static List<String> keysFirstOn(Client c, FakeNode node, int n, List<List<String>> route) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < n && i < 10_000; i++) {
            String k = "key-" + i;
            List<String> r = c.routeOf(k);
            if (r.get(0).equals(node.addr)) {
                keys.add(k);
                route.add(r);
            }
        }
        assertEquals(n, keys.size(), "keys with node first");
        return keys;
    }

    /**
     * Connects the client to every node, with writes (never hedged) of
     * keys first on each until that node gets one: a dial the scheduler
     * holds up past its bound sends the write elsewhere, and the next one
     * finds the connection made.
     */
    private static void warm(Client c, Cluster fc) {
        for (int id = 1; id <= 3; id++) {
            FakeNode n = fc.nodes[id];
            String k = keysFirstOn(c, n, 1, new ArrayList<>()).get(0);
            while (n.count(Codec.SET, k) == 0) {
                c.set(k, "warm");
            }
        }
        fc.take();
    }

    /** Polls cond until it holds; the test's timeout bounds it. */
    private static void waitFor(String what, BooleanSupplier cond) throws InterruptedException {
        while (!cond.getAsBoolean()) {
            Thread.sleep(5);
        }
    }

    /**
     * A write sent to a node that stopped answering is sent exactly once
     * and ends unknown at its deadline. The node is then slow, and later
     * writes of keys it would coordinate go to another replica; once it
     * answers again (its held replies arrive), it coordinates them again.
     *
     * <p>slowAfter is an hour, so the slow bound is a quarter of the call's
     * time (500 ms of 2 s): the paused node is found slow within the call.
     */
    @Test
    void aWriteToAPausedNodeIsSentOnceAndEndsUnknown() throws Exception {
        try (Cluster fc = new Cluster();
                Client c = client(fc, Options.builder().timeout(Duration.ofSeconds(2)).slowAfter(Duration.ofHours(1)))) {
            List<String> keys = keysFirstOn(c, fc.nodes[1], 10, new ArrayList<>());
            warm(c, fc);
            Health h1 = c.healthOf(fc.nodes[1].addr);
            fc.nodes[1].pause();
            UnknownOutcomeException e = assertThrows(UnknownOutcomeException.class, () -> c.set(keys.get(0), "v"));
            assertTrue(e.isTimeout(), e.toString());
            waitFor("the write at node 1", () -> fc.nodes[1].count(Codec.SET) == 1);
            assertEquals(0, fc.nodes[2].count(Codec.SET) + fc.nodes[3].count(Codec.SET),
                    "a write sent to a paused node was sent elsewhere too");
            assertTrue(h1.isSlow(), "node 1 left a write unanswered past its slow bound and is not slow");
            for (String k : keys.subList(1, keys.size())) {
                c.set(k, "v");
                assertEquals(1, fc.nodes[2].count(Codec.SET, k) + fc.nodes[3].count(Codec.SET, k), k);
            }
            assertEquals(1, fc.nodes[1].count(Codec.SET), "writes went to node 1 while it was slow");

            fc.nodes[1].resume();
            waitFor("node 1 healthy once it answers again", () -> !h1.isSlow());
            // A healthy node held up by a loaded machine may be found slow
            // again for a moment: node 1 must take writes again, not each.
            for (String k : keys) {
                c.set(k, "w");
                if (fc.nodes[1].count(Codec.SET, k) > (k.equals(keys.get(0)) ? 1 : 0)) {
                    return;
                }
            }
            fail("node 1 took no write after it answered again");
        }
    }

    /**
     * A read its node does not answer is sent to the next replica as well,
     * and the first answer wins. The node is then found slow even though
     * the hedge answered the call, and later reads (serial ones, which are
     * never hedged, say where they went) go elsewhere first.
     */
    @Test
    void aReadToAPausedNodeIsHedgedAndSucceeds() throws Exception {
        try (Cluster fc = new Cluster();
                Client c = client(fc, Options.builder().timeout(Duration.ofSeconds(60)))) {
            List<List<String>> route = new ArrayList<>();
            List<String> keys = keysFirstOn(c, fc.nodes[1], 5, route);
            warm(c, fc);
            fc.nodes[1].pause();
            assertEquals("fake", c.get(keys.get(0)));
            assertEquals(1, c.hedged.get(), "reads hedged");
            FakeNode second = fc.at(route.get(0).get(1));
            FakeNode third = fc.at(route.get(0).get(2));
            waitFor("the read at node 1", () -> fc.nodes[1].count(Codec.GET) == 1);
            assertEquals(1, second.count(Codec.GET), "the hedge goes to the second replica");
            assertEquals(0, third.count(Codec.GET), "a read is hedged once");
            Health h1 = c.healthOf(fc.nodes[1].addr);
            waitFor("node 1 slow after a hedged read", h1::isSlow);
            for (String k : keys.subList(1, keys.size())) {
                assertEquals("fake", c.get(k, Consistency.SERIAL));
            }
            assertEquals(1, fc.nodes[1].count(Codec.GET), "node 1 got reads while slow");
        }
    }

    /**
     * A hedged read's first node, answering after the hedge did, still gives
     * its read latency a sample: the estimate sees the slow answers it
     * hedged around.
     */
    @Test
    void aHedgedReadsLateAnswerIsSampled() throws Exception {
        try (Cluster fc = new Cluster();
                Client c = client(fc, Options.builder().timeout(Duration.ofSeconds(60)).slowAfter(Duration.ofHours(1)))) {
            List<String> keys = keysFirstOn(c, fc.nodes[1], 1, new ArrayList<>());
            warm(c, fc);
            Health h1 = c.healthOf(fc.nodes[1].addr);
            long before = h1.lat[Health.READ].srtt.get();
            fc.nodes[1].pause();
            assertEquals("fake", c.get(keys.get(0)));
            assertEquals(1, c.hedged.get(), "reads hedged");
            Thread.sleep(100); // node 1's answer comes well after the hedge's
            fc.nodes[1].resume();
            waitFor("node 1's late answer sampled", () -> h1.lat[Health.READ].srtt.get() > before);
        }
    }

    /**
     * A serial read is not hedged: it runs a Paxos round, and a second
     * coordinator would fight the first over the key's ballots. One whose
     * node is paused waits for that node until its deadline.
     */
    @Test
    void aSerialReadIsNotHedged() throws Exception {
        try (Cluster fc = new Cluster();
                Client c = client(fc, Options.builder().timeout(Duration.ofMillis(1500))
                        .slowAfter(Duration.ofHours(1)))) {
            List<String> keys = keysFirstOn(c, fc.nodes[1], 1, new ArrayList<>());
            warm(c, fc);
            fc.nodes[1].pause();
            assertThrows(MemDbTimeoutException.class, () -> c.get(keys.get(0), Consistency.SERIAL));
            waitFor("the read at node 1", () -> fc.nodes[1].count(Codec.GET) == 1);
            assertEquals(0, fc.nodes[2].count(Codec.GET) + fc.nodes[3].count(Codec.GET), "the serial read was hedged");
            assertEquals(0, c.hedged.get(), "reads hedged");
        }
    }

    /**
     * A slow node whose connections are gone (so no late answer will come)
     * is probed with Ring requests on a new connection, and the first
     * answer makes it healthy again.
     */
    @Test
    void aSlowNodeIsProbedAndRestoredWhenItAnswers() throws Exception {
        try (Cluster fc = new Cluster();
                Client c = client(fc, Options.builder().timeout(Duration.ofSeconds(60)))) {
            List<String> keys = keysFirstOn(c, fc.nodes[1], 1, new ArrayList<>());
            warm(c, fc);
            fc.nodes[1].pause();
            assertEquals("fake", c.get(keys.get(0)), "the hedge answers");
            Health h1 = c.healthOf(fc.nodes[1].addr);
            waitFor("node 1 slow", h1::isSlow);
            waitFor("node 1 probed while paused", () -> fc.nodes[1].count(Codec.RING) > 0);
            fc.nodes[1].dropConns();
            fc.take();
            fc.nodes[1].resume();
            waitFor("node 1 healthy after a probe", () -> !h1.isSlow());
            assertTrue(fc.nodes[1].count(Codec.RING) > 0, "node 1 is healthy again without a new probe");
            assertEquals(0, fc.nodes[1].count(Codec.GET), "nothing but probes went to node 1");
        }
    }

    /**
     * A dial to a node that is not the call's last resort gives up after
     * 500 ms: nothing was sent, so the call moves on. Node 1 accepts
     * connections and never greets them; a write of a key first on it
     * goes to another replica, within a deadline (60 s) that an unbounded
     * dial (bounded by the call's timeout too) would use up.
     */
    @Test
    void aDialThatHangsGivesUpForTheNextNode() throws Exception {
        try (Cluster fc = new Cluster();
                Client c = client(fc, Options.builder().timeout(Duration.ofSeconds(60))
                        .slowAfter(Duration.ofHours(1)))) {
            fc.nodes[1].mute = true;
            String k = keysFirstOn(c, fc.nodes[1], 1, new ArrayList<>()).get(0);
            c.set(k, "v");
            assertEquals(0, fc.nodes[1].count(Codec.SET));
            assertEquals(1, fc.nodes[2].count(Codec.SET, k) + fc.nodes[3].count(Codec.SET, k));
        }
    }

    /**
     * A hedge that fails never ends the call while the first attempt may
     * still answer. Without a ring (node 1 does not serve one) the client
     * reads from node 1, the seed that answered; node 1 is paused, so the
     * read is hedged to the other seed, which refuses connections. Once
     * that failure is in, node 1 resumes, and its answer is the call's.
     */
    @Test
    void aFailedHedgeDoesNotEndTheCall() throws Exception {
        String dead;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            dead = "127.0.0.1:" + s.getLocalPort();
        }
        try (FakeNode n1 = new FakeNode("k", FakeNode.Mode.ANSWER)) {
            n1.noRing = true;
            try (Client c = Client.connect(Options.builder().key("k").seeds(List.of(n1.addr, dead))
                    .timeout(Duration.ofSeconds(60)).build())) {
                assertFalse(c.routed());
                n1.pause();
                java.util.concurrent.CompletableFuture<java.util.Optional<String>> f = c.getAsync("k");
                waitFor("the hedge's dial failed", () -> c.down(dead));
                assertEquals(1, c.hedged.get(), "reads hedged");
                assertFalse(f.isDone(), "the call ended with its first attempt in flight: " + f);
                n1.resume();
                assertEquals(java.util.Optional.of("fake"), f.get());
            }
        }
    }

    /**
     * Without routing, calls go to the node that answered last and nothing
     * is tracked or hedged: a client of one node waits for that node. The
     * same holds with routing when slowAfter and hedgeAfter are negative.
     */
    @Test
    void withRoutingOffNothingRuns() throws Exception {
        try (Cluster fc = new Cluster();
                Client c = Client.connect(Options.builder().key("k").routing(false)
                        .seeds(List.of(fc.nodes[1].addr, fc.nodes[2].addr)).timeout(Duration.ofMillis(1500)).build())) {
            c.set("k", "v");
            fc.take();
            fc.nodes[1].pause();
            assertThrows(MemDbTimeoutException.class, () -> c.get("k"));
            waitFor("the read at node 1", () -> fc.nodes[1].count(Codec.GET) == 1);
            assertEquals(0, fc.nodes[2].count(Codec.GET), "a client without routing hedged");
            // The slow bound (50 ms) came long before the deadline, on the
            // same timer thread: had the client tracked health, node 1 would
            // be slow now.
            assertFalse(c.healthOf(fc.nodes[1].addr).isSlow(), "a client without routing tracks health");
        }
        try (Cluster fc = new Cluster();
                Client c = client(fc, Options.builder().timeout(Duration.ofMillis(1500))
                        .slowAfter(Duration.ofMillis(-1)).hedgeAfter(Duration.ofMillis(-1)))) {
            List<String> keys = keysFirstOn(c, fc.nodes[1], 2, new ArrayList<>());
            warm(c, fc);
            fc.nodes[1].pause();
            assertThrows(MemDbTimeoutException.class, () -> c.get(keys.get(0)));
            waitFor("the read at node 1", () -> fc.nodes[1].count(Codec.GET) == 1);
            assertEquals(0, fc.nodes[2].count(Codec.GET) + fc.nodes[3].count(Codec.GET), "hedged with hedging off");
            assertFalse(c.healthOf(fc.nodes[1].addr).isSlow(), "tracked with tracking off");
            assertThrows(MemDbTimeoutException.class, () -> c.get(keys.get(1), Consistency.SERIAL));
            waitFor("the next read at node 1 too", () -> fc.nodes[1].count(Codec.GET) == 2);
        }
    }

    @Test
    void optionsRefuseAZeroSlowAfter() {
        assertThrows(IllegalArgumentException.class,
                () -> Options.builder().seeds(List.of("127.0.0.1:1")).slowAfter(Duration.ZERO).build());
        Options o = Options.builder().seeds(List.of("127.0.0.1:1")).build();
        assertEquals(Options.DEFAULT_SLOW_AFTER.toNanos(), o.slowAfterNanos);
        assertEquals(Options.DEFAULT_HEDGE_AFTER.toNanos(), o.hedgeAfterNanos);
        assertEquals(-1, Options.builder().seeds(List.of("127.0.0.1:1")).hedgeAfter(Duration.ofMillis(-5)).build()
                .hedgeAfterNanos);
    }

    // ---- the arithmetic ----

    /** The estimator, as RFC 6298: the first sample sets the mean and half its deviation; then gains 1/8, 1/4. */
    @Test
    void theEstimatorIsRfc6298() {
        Health.Estimate e = new Health.Estimate();
        assertEquals(0, e.high(), "no samples");
        e.observe(800);
        assertEquals(800, e.srtt.get());
        assertEquals(400, e.rttvar.get());
        assertEquals(800 + 4 * 400, e.high());
        e.observe(1600); // dev 800: var 400 + (800-400)/4 = 500; mean 800 + 800/8 = 900
        assertEquals(900, e.srtt.get());
        assertEquals(500, e.rttvar.get());
        e.observe(100); // dev 800: var 500 + 300/4 = 575; mean 900 - 800/8 = 800
        assertEquals(800, e.srtt.get());
        assertEquals(575, e.rttvar.get());
        Health.Estimate z = new Health.Estimate();
        z.observe(0);
        assertEquals(1, z.srtt.get(), "a sample is at least 1 ns");
        java.util.Random r = new java.util.Random(21);
        Health.Estimate s = new Health.Estimate();
        long lo = Long.MAX_VALUE;
        long hi = 0;
        for (int i = 0; i < 200; i++) {
            long d = 1 + (long) (r.nextDouble() * TimeUnit.SECONDS.toNanos(60));
            s.observe(d);
            lo = Math.min(lo, d);
            hi = Math.max(hi, d);
            assertTrue(s.srtt.get() >= lo && s.srtt.get() <= hi, "the mean leaves the samples' range");
            assertTrue(s.high() >= s.srtt.get());
        }
        for (int i = 0; i < 200; i++) {
            s.observe(1_000_000);
        }
        assertTrue(Math.abs(s.srtt.get() - 1_000_000) <= 10_000, "a steady latency is learnt: " + s.srtt.get());
    }

    /** A request overdue makes its node slow only if nothing came from the node since it was sent, and only once. */
    @Test
    void overdueNeedsSilenceSinceTheRequest() {
        long[][] cases = { // heard, sent, slow, want (1: slow now)
            {5, 10, 0, 1}, {0, 10, 0, 1}, {15, 10, 0, 0}, {10, 10, 0, 0}, {5, 10, 7, 0}};
        for (long[] tc : cases) {
            Health h = new Health();
            h.heard.set(tc[0]);
            h.slow.set(tc[2]);
            assertEquals(tc[3] == 1, h.overdue(tc[1], 20), java.util.Arrays.toString(tc));
        }
        Health h = new Health();
        assertTrue(h.overdue(10, 20));
        assertTrue(h.isSlow());
        h.hear(30);
        assertFalse(h.isSlow(), "a node heard from after it was found slow is still slow");
    }

    /**
     * The slow bound is 8 times the high latency, at least slowAfter, at
     * most a quarter of the call's time; the hedge delay the high latency,
     * at least hedgeAfter, at most the slow bound; classes are apart.
     */
    @Test
    void bounds() {
        long ms = 1_000_000;
        Health h = new Health();
        assertEquals(50 * ms, h.slowBound(50 * ms, Health.READ, 0), "no samples: the floor");
        assertEquals(2 * ms, h.hedgeDelay(2 * ms, Health.READ, 50 * ms), "no samples: the floor");
        h.lat[Health.WRITE].srtt.set(10 * ms);
        h.lat[Health.WRITE].rttvar.set(5 * ms); // high: 30 ms
        assertEquals(240 * ms, h.slowBound(50 * ms, Health.WRITE, 0));
        assertEquals(100 * ms, h.slowBound(50 * ms, Health.WRITE, 400 * ms));
        assertEquals(30 * ms, h.hedgeDelay(2 * ms, Health.WRITE, 240 * ms));
        assertEquals(20 * ms, h.hedgeDelay(2 * ms, Health.WRITE, 20 * ms));
        assertEquals(50 * ms, h.slowBound(50 * ms, Health.READ, 0), "classes are apart");
        assertNotEquals(h.slowBound(50 * ms, Health.READ, 0), h.slowBound(50 * ms, Health.WRITE, 0));
    }

    @Test
    void requestClasses() {
        byte[] k = {'k'};
        assertEquals(Health.READ, Health.classOf(Codec.get(Consistency.ONE.wire, k)));
        assertEquals(Health.READ, Health.classOf(Codec.contains(Consistency.ALL.wire, k)));
        assertEquals(Health.READ, Health.classOf(Codec.getCounter(Consistency.QUORUM.wire, k)));
        assertEquals(Health.PAXOS, Health.classOf(Codec.get(Consistency.SERIAL.wire, k)));
        assertEquals(Health.PAXOS, Health.classOf(Codec.contains(Consistency.SERIAL.wire, k)));
        assertEquals(Health.PAXOS, Health.classOf(Codec.set(Consistency.SERIAL.wire, k, k)));
        assertEquals(Health.PAXOS, Health.classOf(Codec.cas(k, null, k)));
        assertEquals(Health.WRITE, Health.classOf(Codec.set(Consistency.QUORUM.wire, k, k)));
        assertEquals(Health.WRITE, Health.classOf(Codec.delete(Consistency.ONE.wire, k)));
    }
}
