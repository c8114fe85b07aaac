package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Counters against fake nodes: what incr, decr and the counter reads send,
 * and the retry rule of increments — every attempt of one call carries the
 * same operation id, goes to the node that got the first, and is sent again
 * only while its outcome is unknown, until the deadline.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CounterTest {
    private static MemDb client(Duration timeout, FakeNode... nodes) {
        List<String> addrs = java.util.Arrays.stream(nodes).map(n -> n.addr).toList();
        return MemDbConnections.connect(Options.builder().key("k").seeds(addrs).routing(false).timeout(timeout)
                .build());
    }

    /** Checks that incrs are the attempts of one call: one op id, attempts 0, 1, 2..., one first clock. */
    private static void assertAttempts(List<FakeNode.Incr> incrs) {
        assertTrue(!incrs.isEmpty(), "no increment was sent");
        FakeNode.Incr first = incrs.get(0);
        for (int i = 0; i < incrs.size(); i++) {
            FakeNode.Incr in = incrs.get(i);
            assertEquals(first.session(), in.session(), "attempt " + i + "'s session");
            assertEquals(first.seq(), in.seq(), "attempt " + i + "'s seq");
            assertEquals(i, in.attempt(), "attempt number");
            assertEquals(first.delta(), in.delta());
            assertEquals(first.key(), in.key());
            assertEquals(first.first(), in.first(), "attempt " + i + "'s first clock");
        }
    }

    @Test
    void incrDecrAndCounterReads() throws Exception {
        try (FakeNode node = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofSeconds(5), node)) {
            assertEquals(1, db.incr("c"));
            assertEquals(6, db.incr("c", 5));
            assertEquals(5, db.decr("c"));
            assertEquals(-5, db.decr("c", 10));
            assertEquals(-2, db.incr("c", 3, Consistency.ALL));
            int counterValue = db.getQuorumCounter("c")
                    .awaitQuorum(2, TimeUnit.SECONDS)
                    .orElseThrow(() -> new RuntimeException("Quorum not reached"));
            assertEquals(-2, counterValue);
            assertEquals(Optional.of(0L), db.getQuorumCounterLong("never").awaitQuorum(2, TimeUnit.SECONDS));
            assertEquals(-2, db.counter("c", Consistency.ONE));
            assertEquals(-2, db.incrAsync("c", 0 + 1, Consistency.ONE).get() - 1);

            List<FakeNode.Incr> incrs = node.incrs();
            long[] deltas = {1, 5, -1, -10, 3, 1};
            int[] levels = {0, 0, 0, 0, Consistency.ALL.wire, Consistency.ONE.wire};
            assertEquals(deltas.length, incrs.size());
            for (int i = 0; i < incrs.size(); i++) {
                FakeNode.Incr in = incrs.get(i);
                assertEquals(deltas[i], in.delta(), "increment " + i);
                assertEquals(levels[i], in.level(), "increment " + i + "'s level");
                assertEquals(0, in.attempt());
                assertNotEquals(0, in.session());
                assertEquals(incrs.get(0).session(), in.session(), "one session per client");
                assertEquals(incrs.get(0).seq() + i, in.seq(), "a seq per call");
            }
            assertEquals(3, node.count(Codec.GET_COUNTER));
        }
        try (FakeNode node = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb a = client(Duration.ofSeconds(5), node);
                MemDb b = client(Duration.ofSeconds(5), node)) {
            a.incr("c");
            b.incr("c");
            assertNotEquals(node.incrs().get(0).session(), node.incrs().get(1).session(), "two clients, one session");
        }
    }

    @Test
    void anUnknownOutcomeIsRetriedAtTheSameNodeWithTheSameId() throws Exception {
        try (FakeNode node = new FakeNode("k", FakeNode.Mode.ANSWER);
                FakeNode other = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofSeconds(5), node, other)) {
            node.incrScript = in -> switch (in.attempt()) {
                case 0, 2 -> FakeNode.Act.UNKNOWN_OUTCOME;
                case 1, 3 -> FakeNode.Act.DROP;
                default -> FakeNode.Act.APPLY;
            };
            assertEquals(7, db.incr("c", 7));
            List<FakeNode.Incr> incrs = node.incrs();
            assertEquals(5, incrs.size(), incrs.toString());
            assertAttempts(incrs);
            assertEquals(0, other.incrs().size(), "the other node got an attempt");
            assertEquals(7, db.counter("c", Consistency.QUORUM), "applied once");
        }
    }

    @Test
    void aSilentNodeIsRetriedUntilTheDeadlineThenTheOutcomeIsUnknown() throws Exception {
        try (FakeNode node = new FakeNode("k", FakeNode.Mode.ANSWER);
                FakeNode other = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofMillis(600), node, other)) {
            node.incrScript = in -> FakeNode.Act.SILENT;
            long start = System.nanoTime();
            UnknownOutcomeException e = assertThrows(UnknownOutcomeException.class, () -> db.incr("c"));
            assertTrue(e.isTimeout(), e.toString());
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(550), "gave up early");
            List<FakeNode.Incr> incrs = node.incrs();
            assertTrue(incrs.size() >= 2, "no retry once an attempt waited its share: " + incrs);
            assertAttempts(incrs);
            assertEquals(0, other.incrs().size(), "the other node got an attempt");
        }
    }

    @Test
    void definiteFailuresAreNotRetried() throws Exception {
        record Case(FakeNode.Act act, Class<? extends MemDbException> want) {}
        for (Case c : List.of(new Case(FakeNode.Act.WRONG_KIND, WrongKindException.class),
                new Case(FakeNode.Act.UNAVAILABLE, QuorumNotReachedException.class))) {
            try (FakeNode node = new FakeNode("k", FakeNode.Mode.ANSWER);
                    MemDb db = client(Duration.ofSeconds(5), node)) {
                node.incrScript = in -> c.act();
                MemDbException e = assertThrows(MemDbException.class, () -> db.incr("c"));
                assertEquals(c.want(), e.getClass(), e.toString());
                assertEquals(1, node.incrs().size(), c.act() + " was retried");
            }
        }
    }

    @Test
    void aFirstAttemptRefusedByANodeShuttingDownGoesToTheNext() throws Exception {
        try (FakeNode stopping = new FakeNode("k", FakeNode.Mode.ANSWER);
                FakeNode next = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofSeconds(5), stopping, next)) {
            stopping.incrScript = in -> FakeNode.Act.SHUTTING_DOWN;
            assertEquals(1, db.incr("c"));
            assertEquals(1, stopping.incrs().size());
            assertEquals(1, next.incrs().size());
            assertEquals(0, next.incrs().get(0).attempt(), "nothing reached a node: still the first attempt");
            assertEquals(stopping.incrs().get(0).seq(), next.incrs().get(0).seq());
        }
    }

    @Test
    void badInputIsRefusedBeforeSending() throws Exception {
        try (FakeNode node = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofSeconds(5), node)) {
            assertThrows(IllegalArgumentException.class, () -> db.incr("c", 0));
            assertThrows(IllegalArgumentException.class, () -> db.decr("c", 0));
            assertThrows(IllegalArgumentException.class, () -> db.decr("c", Long.MIN_VALUE));
            assertThrows(IllegalArgumentException.class, () -> db.incr("c", 1, Consistency.SERIAL));
            assertThrows(IllegalArgumentException.class, () -> db.counter("c", Consistency.SERIAL));
            assertThrows(IllegalArgumentException.class, () -> db.incr(""));
            assertEquals(0, node.received.size());
        }
    }

    @Test
    void anIntCounterThatDoesNotFitIsAnError() throws Exception {
        try (FakeNode node = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofSeconds(5), node)) {
            node.setCounter("big", 1L << 40);
            MemDbException e = assertThrows(MemDbException.class,
                    () -> db.getQuorumCounter("big").awaitQuorum(2, TimeUnit.SECONDS));
            assertTrue(e.getMessage().contains("does not fit an int"), e.getMessage());
            assertEquals(Optional.of(1L << 40), db.getQuorumCounterLong("big").awaitQuorum(2, TimeUnit.SECONDS));
        }
    }
}
