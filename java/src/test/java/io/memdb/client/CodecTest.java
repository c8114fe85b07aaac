package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The codec against frames the Go codec wrote (java/golden_test.go builds
 * the same messages): requests must encode to exactly those bytes, and
 * answers must decode to the fields Go encoded.
 */
class CodecTest {
    private static final byte[] KEY = bytes("secret");
    private static final byte[] NONCE_S = seq(0);
    private static final byte[] NONCE_C = seq(16);

    private static byte[] seq(int from) {
        byte[] b = new byte[Codec.NONCE];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void assertFrame(String name, Codec.Request r, long id, Timestamp clock) {
        byte[] want = Golden.load().frame(name);
        byte[] got = Codec.frame(r, id, clock);
        assertEquals(HexFormat.of().formatHex(want), HexFormat.of().formatHex(got), name + " (want Go's, got Java's)");
    }

    /** The Java names of net's constants that are not kinds or codes. */
    private static final Map<String, String> LIMITS = Map.of("Version", "VERSION", "HeaderSize", "HEADER", "MaxKey",
            "MAX_KEY", "MaxValue", "MAX_VALUE", "MaxFrame", "MAX_FRAME", "NonceSize", "NONCE", "MACSize", "MAC",
            "MaxAttempts", "MAX_ATTEMPTS");

    /** Codec constants with no exported Go counterpart: MAX_MESSAGE is net's unexported maxMessage. */
    private static final Set<String> JAVA_ONLY = Set.of("MAX_MESSAGE");

    /** KindAuthOK to AUTH_OK, CodeStaleRing to CODE_STALE_RING, MaxKey to MAX_KEY. */
    static String javaName(String goName) {
        if (LIMITS.containsKey(goName)) {
            return LIMITS.get(goName);
        }
        String prefix = goName.startsWith("Code") ? "CODE_" : "";
        String rest = goName.startsWith("Kind") || goName.startsWith("Code") ? goName.substring(4) : goName;
        StringBuilder b = new StringBuilder(prefix);
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (i > 0 && Character.isUpperCase(c) && Character.isLowerCase(rest.charAt(i - 1))) {
                b.append('_');
            }
            b.append(Character.toUpperCase(c));
        }
        return b.toString();
    }

    /** Codec's static final int fields, by name. */
    private static Map<String, Integer> javaConstants() throws IllegalAccessException {
        Map<String, Integer> out = new TreeMap<>();
        for (Field f : Codec.class.getDeclaredFields()) {
            int m = f.getModifiers();
            if (Modifier.isStatic(m) && Modifier.isFinal(m) && f.getType() == int.class) {
                f.setAccessible(true);
                out.put(f.getName(), f.getInt(null));
            }
        }
        return out;
    }

    @Test
    void constantsMatchGo() throws Exception {
        Map<String, Long> golden = Golden.load().consts;
        assertFalse(golden.isEmpty(), "golden.txt has no const lines (go test ./java -rewrite)");
        Map<String, Integer> java = javaConstants();
        Map<String, String> goOf = new TreeMap<>();
        for (Map.Entry<String, Long> g : golden.entrySet()) {
            String name = javaName(g.getKey());
            goOf.put(name, g.getKey());
            Integer v = java.get(name);
            if (v != null) {
                assertEquals(g.getValue().longValue(), v.longValue(), "Codec." + name + " against net." + g.getKey());
            } else {
                // Every limit and error code must be known to the client;
                // kinds only peers send need not be.
                assertTrue(g.getKey().startsWith("Kind"), "Codec has no " + name + " for net." + g.getKey() + " = "
                        + g.getValue());
            }
        }
        for (String name : java.keySet()) {
            assertTrue(goOf.containsKey(name) || JAVA_ONLY.contains(name), "Codec." + name
                    + " has no constant in net (golden.txt); add it to goldenConsts in java/golden_test.go");
        }
    }

    @Test
    void requestsEncodeAsGoEncodesThem() {
        byte[] mac = Codec.clientProof(KEY, NONCE_S, NONCE_C);
        assertFrame("auth", Codec.auth(NONCE_C, mac), 1, Timestamp.ZERO);
        assertFrame("get", Codec.get(Consistency.QUORUM.wire, bytes("key1")), 2, new Timestamp(9, 3));
        assertFrame("get-default", Codec.get(Consistency.DEFAULT.wire, bytes("k")), 1L << 40, Timestamp.ZERO);
        assertFrame("set", Codec.set(Consistency.ONE.wire, bytes("key1"), bytes("value1")), 3,
                new Timestamp((1L << 40) + 1, 65535));
        assertFrame("set-empty", Codec.set(Consistency.ALL.wire, bytes("ключ"), new byte[0]), 4, Timestamp.ZERO);
        assertFrame("delete", Codec.delete(Consistency.QUORUM.wire, bytes("key1")), 5, new Timestamp(10, 1));
        assertFrame("contains", Codec.contains(Consistency.SERIAL.wire, bytes("key1")), 6, Timestamp.ZERO);
        assertFrame("cas-absent", Codec.cas(bytes("locked"), null, bytes("true")), 7, Timestamp.ZERO);
        assertFrame("cas", Codec.cas(bytes("locked"), bytes("false"), bytes("true")), 8, new Timestamp(11, 2));
        assertFrame("ring", Codec.ring(), 9, Timestamp.ZERO);
        assertFrame("batch", Codec.batch(bytes("0123456789abcdef"), new byte[][] {bytes("a"), bytes("b"), bytes("c")},
                new byte[][] {bytes("1"), null, new byte[0]}), 13, new Timestamp(19, 2));
        assertFrame("incr", Codec.incr(Consistency.QUORUM.wire, bytes("counter"), 1, 0x0123456789abcdefL, 1, 0, Timestamp.ZERO), 10,
                new Timestamp(17, 2));
        assertFrame("incr-retry", Codec.incr(Consistency.ALL.wire, bytes("counter"), -1L << 40, 0xfedcba9876543210L,
                (1L << 63) + 5, 3, new Timestamp(1500, 7)), 11, Timestamp.ZERO);
        assertFrame("get-counter", Codec.getCounter(Consistency.QUORUM.wire, bytes("counter")), 12, Timestamp.ZERO);
    }

    @Test
    void counterAnswersDecodeAsGoEncodedThem() throws Exception {
        Golden g = Golden.load();
        Codec.Frame f = Codec.decode(g.frame("counter-value"));
        assertEquals(10, f.id());
        assertEquals(new Timestamp(18, 1), f.clock());
        assertEquals(42, ((Codec.CounterValue) f.msg()).value());
        assertEquals(Long.MIN_VALUE, ((Codec.CounterValue) Codec.decode(g.frame("counter-value-negative")).msg()).value());
        Codec.Error e = (Codec.Error) Codec.decode(g.frame("error-wrong-kind")).msg();
        assertEquals(Codec.CODE_WRONG_KIND, e.code());
        assertEquals("the key holds a value, not a counter", e.message());
        MemDbException m = Client.replyError("incr", "k", e);
        assertTrue(m instanceof WrongKindException, m.toString());
        assertEquals(Codec.CODE_WRONG_KIND, m.code());
    }

    @Test
    void handshakeFramesDecodeAndProofsMatch() throws Exception {
        Codec.Frame f = Codec.decode(Golden.load().frame("challenge"));
        assertEquals(0, f.id());
        assertEquals(new Timestamp(5, 7), f.clock());
        Codec.Challenge ch = (Codec.Challenge) f.msg();
        assertEquals(1, ch.version());
        assertEquals(7, ch.node());
        assertArrayEquals(NONCE_S, ch.nonce());

        f = Codec.decode(Golden.load().frame("auth-ok"));
        assertEquals(1, f.id());
        assertArrayEquals(Codec.serverProof(KEY, NONCE_S, NONCE_C), ((Codec.AuthOk) f.msg()).mac());
        assertFalse(java.util.Arrays.equals(Codec.serverProof(bytes("wrong"), NONCE_S, NONCE_C),
                ((Codec.AuthOk) f.msg()).mac()));
    }

    @Test
    void answersDecodeAsGoEncodedThem() throws Exception {
        Golden g = Golden.load();
        Codec.Frame f = Codec.decode(g.frame("value"));
        assertEquals(2, f.id());
        assertEquals(new Timestamp(12, 2), f.clock());
        Codec.Value v = (Codec.Value) f.msg();
        assertTrue(v.found());
        assertEquals(new Timestamp(12, 2), v.version());
        assertArrayEquals(bytes("value1"), v.value());

        v = (Codec.Value) Codec.decode(g.frame("value-absent")).msg();
        assertFalse(v.found());
        assertEquals(Timestamp.ZERO, v.version());
        assertEquals(0, v.value().length);

        v = (Codec.Value) Codec.decode(g.frame("value-tombstone")).msg();
        assertFalse(v.found());
        assertEquals(new Timestamp(13, 3), v.version());

        f = Codec.decode(g.frame("done"));
        assertEquals(new Timestamp(15, 1), f.clock());
        assertEquals(new Timestamp(14, 1), ((Codec.Done) f.msg()).version());

        assertTrue(((Codec.Bool) Codec.decode(g.frame("bool-true")).msg()).value());
        assertFalse(((Codec.Bool) Codec.decode(g.frame("bool-false")).msg()).value());

        Codec.Error e = (Codec.Error) Codec.decode(g.frame("error")).msg();
        assertEquals(Codec.CODE_UNAVAILABLE, e.code());
        assertEquals("quorum not reached: 1 of 2 replicas answered", e.message());
        assertTrue(Client.replyError("get", "k", e) instanceof QuorumNotReachedException);
        e = (Codec.Error) Codec.decode(g.frame("error-utf8")).msg();
        assertEquals(Codec.CODE_CONTENTION, e.code());
        assertEquals("contention — lost to other proposers", e.message());
        assertTrue(Client.replyError("cas", "k", e) instanceof ContentionException);

        f = Codec.decode(g.frame("ring-info"));
        Codec.RingInfo info = (Codec.RingInfo) f.msg();
        assertEquals(3, info.replicas());
        assertEquals(List.of(new Codec.NodeAddr(1, "127.0.0.1:7400"), new Codec.NodeAddr(2, "127.0.0.1:7410"),
                new Codec.NodeAddr(3, "127.0.0.1:7420"), new Codec.NodeAddr(9, "[::1]:7490")), info.addrs());
        assertArrayEquals(g.ring, info.ring());
    }

    @Test
    void damagedFramesAreRefused() {
        byte[] b = Golden.load().frame("value").clone();
        b[b.length - 1] ^= 1;
        assertThrows(Codec.MalformedException.class, () -> Codec.decode(b), "a flipped bit fails the CRC");
        byte[] big = Golden.load().frame("value").clone();
        Codec.putU32(big, 0, Codec.MAX_FRAME + 1);
        assertThrows(Codec.MalformedException.class, () -> Codec.frameLen(big, 0));
        byte[] small = Golden.load().frame("value").clone();
        Codec.putU32(small, 0, 10);
        assertThrows(Codec.MalformedException.class, () -> Codec.frameLen(small, 0));
    }

    @Test
    void unknownKindsDecodeWithoutAMessage() throws Exception {
        byte[] b = Codec.frame(new Codec.Request(99, new byte[] {1, 2}), 5, Timestamp.ZERO);
        Codec.Frame f = Codec.decode(b);
        assertEquals(99, f.kind());
        assertEquals(5, f.id());
        assertNull(f.msg());
    }

    @Test
    void sessionKeepsTheHighestTimestamp() {
        Session s = new Session();
        s.observe(new Timestamp(5, 2));
        s.observe(new Timestamp(5, 1));
        s.observe(new Timestamp(4, 9));
        assertEquals(new Timestamp(5, 2), s.now());
        s.observe(new Timestamp(-1L, 0)); // 2^64-1: counters are unsigned
        assertEquals(new Timestamp(-1L, 0), s.now());
    }
}
