package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the client does when nodes fail, against fake nodes: reads are
 * retried elsewhere, writes never are, timeouts are typed by whether a
 * write may have happened, the session clock rides on every request, and
 * a node that cannot prove it knows the key is refused.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FailureTest {
    private static MemDb client(Duration timeout, FakeNode... nodes) {
        List<String> addrs = java.util.Arrays.stream(nodes).map(n -> n.addr).toList();
        return MemDbConnections.connect(Options.builder().key("k").seeds(addrs).routing(false).timeout(timeout)
                .build());
    }

    @Test
    void aReadWhoseConnectionBreaksIsRetriedOnAnotherNode() throws Exception {
        try (FakeNode drop = new FakeNode("k", FakeNode.Mode.DROP);
                FakeNode answer = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofSeconds(5), drop, answer)) {
            assertEquals("fake", db.get("x"));
            assertTrue(drop.count(Codec.GET) >= 1, "the read went to the first node first");
            assertEquals(1, answer.count(Codec.GET));
        }
    }

    @Test
    void aWriteWhoseConnectionBreaksIsNeverSentAgain() throws Exception {
        try (FakeNode drop = new FakeNode("k", FakeNode.Mode.DROP);
                FakeNode answer = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofSeconds(5), drop, answer)) {
            UnknownOutcomeException e = assertThrows(UnknownOutcomeException.class, () -> db.set("x", "v"));
            assertTrue(!e.isTimeout(), e.toString());
            assertEquals(1, drop.count(Codec.SET));
            assertEquals(0, answer.count(Codec.SET), "a write that may have happened is not resent");
            assertThrows(UnknownOutcomeException.class, () -> db.cas("x", null, "v"));
            assertEquals(0, answer.count(Codec.CAS));
        }
    }

    @Test
    void timeoutsSayWhetherAWriteMayHaveHappened() throws Exception {
        // A timeout long enough that connecting (done by connect, before
        // the set) never eats it on a loaded machine: the set must time
        // out waiting for its answer, after it was queued.
        try (FakeNode silent = new FakeNode("k", FakeNode.Mode.SILENT);
                MemDb db = client(Duration.ofSeconds(2), silent)) {
            UnknownOutcomeException w = assertThrows(UnknownOutcomeException.class, () -> db.set("x", "v"));
            assertTrue(w.isTimeout());
            assertThrows(MemDbTimeoutException.class, () -> db.get("x"));
            assertThrows(MemDbTimeoutException.class, () -> db.quorumGet("x").awaitQuorum(5, TimeUnit.SECONDS));
            assertThrows(MemDbTimeoutException.class, () -> db.quorumGet("x").awaitQuorum(50, TimeUnit.MILLISECONDS));
        }
    }

    @Test
    void aWriteQueuedAsItsDeadlinePassesIsReportedAsMaybeDone() throws Exception {
        // The deadline passes while the call is about to queue its write
        // (the hook holds it there three times the timeout). Either the
        // write is not sent and the call is a plain timeout, or it is sent
        // and the call's outcome is unknown; a plain timeout for a write
        // that went out anyway was the bug.
        Duration timeout = Duration.ofMillis(200);
        try (FakeNode answer = new FakeNode("k", FakeNode.Mode.ANSWER);
                Client db = Client.connect(Options.builder().key("k").seeds(List.of(answer.addr)).routing(false)
                        .timeout(timeout).build())) {
            db.beforeSend = () -> {
                try {
                    Thread.sleep(3 * timeout.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            // The deadline's handler waits for the send to finish, so the
            // node's answer may also win: then the write simply succeeded.
            MemDbException e = null;
            try {
                db.set("x", "v");
            } catch (MemDbException thrown) {
                e = thrown;
            }
            db.beforeSend = null;
            db.get("x"); // answered after the set, on the same connection
            if (e instanceof UnknownOutcomeException u) {
                assertTrue(u.isTimeout(), u.toString());
            } else if (e != null) {
                assertTrue(e instanceof MemDbTimeoutException, e.toString());
                assertEquals(0, answer.count(Codec.SET), "a write reported as not sent was sent");
                return;
            }
            assertEquals(1, answer.count(Codec.SET), "the write was queued before the deadline was handled");
        }
    }

    @Test
    void everyRequestCarriesTheHighestTimestampSeen() throws Exception {
        try (FakeNode answer = new FakeNode("k", FakeNode.Mode.ANSWER);
                MemDb db = client(Duration.ofSeconds(5), answer)) {
            db.get("x");
            db.set("x", "v");
            db.get("x");
            List<FakeNode.Received> got = List.copyOf(answer.received);
            assertEquals(3, got.size());
            assertEquals(FakeNode.READ_VERSION, got.get(1).clock(), "the set carries the read's version");
            assertEquals(FakeNode.WRITE_VERSION, got.get(2).clock(), "the next read carries the write's");
        }
    }

    /** A node that serves TLS only is refused at once, with its reason: this client speaks no TLS yet. */
    @Test
    void aTlsNodeIsRefusedAtOnce() throws Exception {
        try (FakeNode tls = new FakeNode("k", FakeNode.Mode.ANSWER)) {
            tls.first = Golden.load().frame("tls-preamble");
            AuthException e = assertThrows(AuthException.class, () -> MemDbConnections.node("k", tls.addr));
            assertTrue(e.getMessage().contains("serves TLS only"), e.getMessage());
        }
    }

    @Test
    void aNodeThatCannotProveTheKeyIsRefused() throws Exception {
        try (FakeNode liar = new FakeNode("k", FakeNode.Mode.ANSWER)) {
            liar.lieAboutKey = true;
            AuthException e = assertThrows(AuthException.class, () -> MemDbConnections.node("k", liar.addr));
            assertTrue(e.getMessage().contains("could not prove"), e.getMessage());
        }
        try (FakeNode other = new FakeNode("other key", FakeNode.Mode.ANSWER)) {
            assertThrows(AuthException.class, () -> MemDbConnections.node("k", other.addr));
        }
    }

    @Test
    void aClosedClientRefusesCalls() throws Exception {
        try (FakeNode answer = new FakeNode("k", FakeNode.Mode.ANSWER)) {
            MemDb db = client(Duration.ofSeconds(5), answer);
            db.close();
            db.close();
            assertThrows(ClientClosedException.class, () -> db.get("x"));
        }
    }
}
