package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 21 end to end: a real 3-node cluster (rf 3) with node 2 stopped
 * (SIGSTOP) while one routing client writes and reads keys in turn, as
 * e2e's TestPausedNodeDoesNotStall does for the Go client. Every read
 * succeeds (hedged, then routed around node 2), and at most one write ends
 * unknown: the one sent to node 2 before anything showed it had stopped.
 * Then node 2 resumes and the client uses it again.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PausedNodeTest {
    private static final String KEY = "123";

    @Test
    void aPausedNodeStallsAtMostOneWrite() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(3, KEY);
                Client db = Client.connect(Options.builder().key(KEY).seeds(cluster.addrs)
                        .timeout(Duration.ofSeconds(2)).build())) {
            int n = 60;
            for (int i = 0; i < n; i++) {
                db.set("p-" + i, "v" + i);
            }
            String node2 = cluster.addrs.get(1);
            int firstOn2 = 0;
            for (int i = 0; i < n; i++) {
                if (db.routeOf("p-" + i).get(0).equals(node2)) {
                    firstOn2++;
                }
            }
            assertTrue(firstOn2 > 0, "no key has node 2 first");
            String[] before = new String[n];
            for (int i = 0; i < n; i++) {
                before[i] = "v" + i;
            }
            cluster.pause(2);
            int unknown = 0;
            try {
                for (int round = 0; round < 3; round++) {
                    for (int i = 0; i < n; i++) {
                        String k = "p-" + i;
                        String v = "w" + round + "-" + i;
                        boolean ok = true;
                        try {
                            db.set(k, v);
                        } catch (UnknownOutcomeException e) {
                            unknown++;
                            ok = false;
                        }
                        String got = db.get(k);
                        if (ok) {
                            assertEquals(v, got, k + " read back with node 2 paused");
                        } else {
                            assertTrue(v.equals(got) || before[i].equals(got), k + " read " + got + " after an"
                                    + " unknown write of " + v + " over " + before[i]);
                        }
                        before[i] = got;
                    }
                }
                assertTrue(unknown <= 1, unknown + " writes ended unknown with node 2 paused; at most the first may");
                assertTrue(db.healthOf(node2).isSlow(), "node 2 is paused and not slow");
            } finally {
                cluster.resume(2);
            }
            while (db.healthOf(node2).isSlow()) {
                Thread.sleep(10);
            }
            for (int i = 0; i < n; i++) {
                db.set("p-" + i, "after");
                assertEquals("after", db.get("p-" + i, Consistency.ALL));
            }
        }
    }
}
