package io.memdb.client;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The client's half of memdb's wire protocol, version 1, as drawn in
 * net/doc.go: it encodes the requests a client sends (Auth, Get, Set,
 * Delete, Contains, CAS, Incr, GetCounter, Ring) and decodes the frames a
 * node sends it (Challenge, AuthOK, Value, Done, Bool, Error, RingInfo,
 * CounterValue). CodecTest holds
 * it to frames the Go codec wrote.
 *
 * <pre>
 * offset size field
 *      0    4 length: bytes after this field (24 + body)
 *      4    4 crc: CRC-32C of bytes [8, 4+length)
 *      8    1 version (1)
 *      9    1 kind
 *     10    8 id
 *     18    8 clock.counter
 *     26    2 clock.node
 *     28    - body
 * </pre>
 * All integers are unsigned and big-endian.
 */
final class Codec {
    private Codec() {}

    // The constants below repeat net's; CodecTest checks each against the
    // values the Go test wrote into java/testdata/golden.txt.
    static final int VERSION = 1;
    static final int HEADER = 28;
    static final int MAX_KEY = 65535;
    static final int MAX_VALUE = 8 << 20;
    static final int MAX_FRAME = 16 << 20;
    static final int NONCE = 16;
    static final int MAC = 32;
    static final int MAX_MESSAGE = 4096;

    // Kinds (net/message.go); never renumbered.
    static final int CHALLENGE = 1, AUTH = 2, AUTH_OK = 3;
    static final int GET = 10, SET = 11, DELETE = 12, CONTAINS = 13, CAS = 14, INCR = 15, GET_COUNTER = 16, BATCH = 17;
    static final int RING = 21;
    static final int VALUE = 40, DONE = 41, BOOL = 42, ERROR = 43, RING_INFO = 44, COUNTER_VALUE = 45;

    // Error codes (net/errors.go).
    static final int CODE_MALFORMED = 1, CODE_TOO_LARGE = 2, CODE_BAD_KEY = 3, CODE_AUTH = 4,
            CODE_UNKNOWN_KIND = 5, CODE_UNAVAILABLE = 6, CODE_UNKNOWN_OUTCOME = 7, CODE_INTERNAL = 8,
            CODE_UNSUPPORTED = 9, CODE_SHUTTING_DOWN = 10, CODE_CONTENTION = 11, CODE_STALE_RING = 12,
            CODE_WRONG_KIND = 13, CODE_OVERFLOW = 14, CODE_ABORTED = 15, CODE_STALE_STAMP = 16;

    /** How the TLS preamble's message begins (net.TLSRequired). */
    static final String TLS_REQUIRED = "this node serves TLS only";

    /** The most attempts one increment may carry (net.MaxAttempts). */
    static final int MAX_ATTEMPTS = 65535;

    /** A request body, ready to be framed under any id and clock. */
    record Request(int kind, byte[] body) {}

    /** A decoded frame; msg is null for a kind this client does not know. */
    record Frame(long id, Timestamp clock, int kind, Object msg) {}

    record Challenge(int version, int node, byte[] nonce) {}

    record AuthOk(byte[] mac) {}

    record Value(boolean found, Timestamp version, byte[] value) {}

    record Done(Timestamp version) {}

    record Bool(boolean value) {}

    record Error(int code, String message) {}

    record CounterValue(long value) {}

    record NodeAddr(int node, String addr) {}

    record RingInfo(int replicas, byte[] ring, List<NodeAddr> addrs) {}

    /** A frame the node sent that breaks the protocol: the connection cannot go on. */
    static final class MalformedException extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        MalformedException(String message) {
            super(message);
        }
    }

    // ---- requests ----

    static Request get(int level, byte[] key) {
        return keyed(GET, level, key);
    }

    static Request delete(int level, byte[] key) {
        return keyed(DELETE, level, key);
    }

    static Request contains(int level, byte[] key) {
        return keyed(CONTAINS, level, key);
    }

    private static Request keyed(int kind, int level, byte[] key) {
        Buf b = new Buf(3 + key.length);
        b.u8(level).key(key);
        return new Request(kind, b.bytes());
    }

    static Request set(int level, byte[] key, byte[] value) {
        Buf b = new Buf(7 + key.length + value.length);
        b.u8(level).key(key).value(value);
        return new Request(SET, b.bytes());
    }

    /** A CAS; old == null means "only if the key is absent". */
    static Request cas(byte[] key, byte[] old, byte[] nu) {
        int o = old == null ? 0 : old.length;
        Buf b = new Buf(11 + key.length + o + nu.length);
        b.key(key).u8(old == null ? 0 : 1).value(old == null ? new byte[0] : old).value(nu);
        return new Request(CAS, b.bytes());
    }

    /**
     * An increment: delta added to the counter key, named by (session, seq)
     * across its attempts; attempt counts the retries, first is the
     * session clock when the call began (the same in every attempt).
     */
    static Request incr(int level, byte[] key, long delta, long session, long seq, int attempt, Timestamp first) {
        Buf b = new Buf(41 + key.length);
        b.u8(level).key(key).u64(delta).u64(session).u64(seq).u32(attempt).u64(first.counter()).u16(first.node());
        return new Request(INCR, b.bytes());
    }

    /** The limits of a batch (net.MaxBatchKeys, net.MaxBatchBytes). */
    static final int MAX_BATCH_KEYS = 128, MAX_BATCH_BYTES = 4 << 20;

    /**
     * A batch: keys[i] set to values[i], or deleted where values[i] is
     * null, atomically, under token (the same in every attempt).
     */
    static Request batch(byte[] token, byte[][] keys, byte[][] values) {
        int n = 3 + token.length;
        for (int i = 0; i < keys.length; i++) {
            n += 3 + keys[i].length + (values[i] == null ? 0 : 4 + values[i].length);
        }
        Buf b = new Buf(n);
        b.u8(token.length).raw(token).u16(keys.length);
        for (int i = 0; i < keys.length; i++) {
            b.key(keys[i]);
            if (values[i] == null) {
                b.u8(1);
            } else {
                b.u8(0).value(values[i]);
            }
        }
        return new Request(BATCH, b.bytes());
    }

    static Request getCounter(int level, byte[] key) {
        return keyed(GET_COUNTER, level, key);
    }

    static Request ring() {
        return new Request(RING, new byte[0]);
    }

    static Request auth(byte[] nonce, byte[] mac) {
        Buf b = new Buf(3 + NONCE + MAC);
        b.u8(1).u16(0).raw(nonce).raw(mac);
        return new Request(AUTH, b.bytes());
    }

    /** The whole frame of r under id and clock, length prefix included. */
    static byte[] frame(Request r, long id, Timestamp clock) {
        byte[] out = new byte[HEADER + r.body.length];
        appendFrame(out, 0, r, id, clock);
        return out;
    }

    /** Writes r's frame into out at off; it takes HEADER + body bytes. */
    static void appendFrame(byte[] out, int off, Request r, long id, Timestamp clock) {
        int n = HEADER - 4 + r.body.length;
        if (n > MAX_FRAME) {
            throw new IllegalArgumentException("frame of " + n + " bytes exceeds " + MAX_FRAME);
        }
        putU32(out, off, n);
        out[off + 8] = VERSION;
        out[off + 9] = (byte) r.kind;
        putU64(out, off + 10, id);
        putU64(out, off + 18, clock.counter());
        out[off + 26] = (byte) (clock.node() >>> 8);
        out[off + 27] = (byte) clock.node();
        System.arraycopy(r.body, 0, out, off + HEADER, r.body.length);
        CRC32C crc = new CRC32C();
        crc.update(out, off + 8, n - 4);
        putU32(out, off + 4, (int) crc.getValue());
    }

    // ---- frames from a node ----

    /**
     * The total size of the frame whose first 4 bytes are at b[off], or a
     * MalformedException for an impossible length.
     */
    static int frameLen(byte[] b, int off) throws MalformedException {
        long n = u32(b, off);
        if (n > MAX_FRAME) {
            throw new MalformedException("frame of " + n + " bytes exceeds the " + MAX_FRAME + "-byte limit");
        }
        if (n < HEADER - 4) {
            throw new MalformedException("frame length " + n + " is shorter than a header");
        }
        return (int) n + 4;
    }

    /** Decodes the whole frame in b (length prefix included). */
    static Frame decode(byte[] b) throws MalformedException {
        int n = frameLen(b, 0);
        if (n != b.length) {
            throw new MalformedException("frame of " + n + " bytes in a buffer of " + b.length);
        }
        CRC32C crc = new CRC32C();
        crc.update(b, 8, n - 8);
        if (crc.getValue() != u32(b, 4)) {
            throw new MalformedException("checksum mismatch");
        }
        if (b[8] != VERSION) {
            throw new MalformedException("protocol version " + b[8] + " (this client speaks " + VERSION + ")");
        }
        int kind = b[9] & 0xff;
        long id = u64(b, 10);
        Timestamp clock = new Timestamp(u64(b, 18), u16(b, 26));
        Reader r = new Reader(b, HEADER);
        Object msg;
        switch (kind) {
            case CHALLENGE -> msg = new Challenge(r.u8(), r.u16(), r.raw(NONCE));
            case AUTH_OK -> msg = new AuthOk(r.raw(MAC));
            case VALUE -> {
                boolean found = r.bool();
                Timestamp v = r.timestamp();
                byte[] value = r.value();
                if (!found && value.length != 0) {
                    throw new MalformedException("a value that was not found has " + value.length + " bytes");
                }
                msg = new Value(found, v, value);
            }
            case DONE -> msg = new Done(r.timestamp());
            case BOOL -> msg = new Bool(r.bool());
            case ERROR -> {
                int code = r.u16();
                int len = r.u16();
                if (len > MAX_MESSAGE) {
                    throw new MalformedException("error message of " + len + " bytes");
                }
                msg = new Error(code, new String(r.raw(len), StandardCharsets.UTF_8));
            }
            case COUNTER_VALUE -> msg = new CounterValue(r.u64());
            case RING_INFO -> {
                int replicas = r.u8();
                byte[] ring = r.value();
                long count = r.u32();
                if (count > (b.length - r.off) / 3) {
                    throw new MalformedException("address count " + count + " does not fit the frame");
                }
                List<NodeAddr> addrs = new ArrayList<>((int) count);
                for (int i = 0; i < count; i++) {
                    int node = r.u16();
                    int len = r.u8();
                    addrs.add(new NodeAddr(node, new String(r.raw(len), StandardCharsets.UTF_8)));
                }
                msg = new RingInfo(replicas, ring, addrs);
            }
            default -> {
                return new Frame(id, clock, kind, null);
            }
        }
        if (r.off != b.length) {
            throw new MalformedException((b.length - r.off) + " trailing bytes after a kind " + kind + " body");
        }
        return new Frame(id, clock, kind, msg);
    }

    // ---- the handshake's proofs (net/auth.go) ----

    static byte[] clientProof(byte[] key, byte[] serverNonce, byte[] clientNonce) {
        return proof(key, "memdb/1 client-proof", serverNonce, clientNonce);
    }

    static byte[] serverProof(byte[] key, byte[] serverNonce, byte[] clientNonce) {
        return proof(key, "memdb/1 server-proof", serverNonce, clientNonce);
    }

    /** HMAC-SHA256(key, label | role (client: 1) | node (0, 2 bytes) | nonce_s | nonce_c). */
    private static byte[] proof(byte[] key, String label, byte[] sn, byte[] cn) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            // An empty key is legal in HMAC; SecretKeySpec refuses it, so
            // pad it as HMAC does: a key shorter than the block is
            // zero-padded, and one zero byte is the same key as none.
            mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, "HmacSHA256"));
            mac.update(label.getBytes(StandardCharsets.US_ASCII));
            mac.update(new byte[] {1, 0, 0});
            mac.update(sn);
            mac.update(cn);
            return mac.doFinal();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    // ---- helpers ----

    static void putU32(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    static void putU64(byte[] b, int off, long v) {
        for (int i = 7; i >= 0; i--) {
            b[off + i] = (byte) v;
            v >>>= 8;
        }
    }

    static long u32(byte[] b, int off) {
        return ((b[off] & 0xffL) << 24) | ((b[off + 1] & 0xffL) << 16) | ((b[off + 2] & 0xffL) << 8)
                | (b[off + 3] & 0xffL);
    }

    static long u64(byte[] b, int off) {
        return (u32(b, off) << 32) | u32(b, off + 4);
    }

    static int u16(byte[] b, int off) {
        return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff);
    }

    /** An exactly sized body being written. */
    private static final class Buf {
        private final byte[] b;
        private int off;

        Buf(int size) {
            b = new byte[size];
        }

        Buf u8(int v) {
            b[off++] = (byte) v;
            return this;
        }

        Buf u16(int v) {
            b[off++] = (byte) (v >>> 8);
            b[off++] = (byte) v;
            return this;
        }

        Buf u32(int v) {
            putU32(b, off, v);
            off += 4;
            return this;
        }

        Buf u64(long v) {
            putU64(b, off, v);
            off += 8;
            return this;
        }

        Buf raw(byte[] v) {
            System.arraycopy(v, 0, b, off, v.length);
            off += v.length;
            return this;
        }

        Buf key(byte[] k) {
            return u16(k.length).raw(k);
        }

        Buf value(byte[] v) {
            putU32(b, off, v.length);
            off += 4;
            return raw(v);
        }

        byte[] bytes() {
            if (off != b.length) {
                throw new IllegalStateException("body of " + off + " bytes, sized " + b.length);
            }
            return b;
        }
    }

    /** Reads a body field by field, refusing to read past its end. */
    private static final class Reader {
        private final byte[] b;
        int off;

        Reader(byte[] b, int off) {
            this.b = b;
            this.off = off;
        }

        private void need(int n, String what) throws MalformedException {
            if (n < 0 || b.length - off < n) {
                throw new MalformedException(what + " needs " + n + " bytes, " + (b.length - off) + " left");
            }
        }

        int u8() throws MalformedException {
            need(1, "a byte");
            return b[off++] & 0xff;
        }

        int u16() throws MalformedException {
            need(2, "a 2-byte field");
            int v = Codec.u16(b, off);
            off += 2;
            return v;
        }

        long u32() throws MalformedException {
            need(4, "a 4-byte field");
            long v = Codec.u32(b, off);
            off += 4;
            return v;
        }

        long u64() throws MalformedException {
            need(8, "an 8-byte field");
            long v = Codec.u64(b, off);
            off += 8;
            return v;
        }

        boolean bool() throws MalformedException {
            int v = u8();
            if (v > 1) {
                throw new MalformedException("a bool must be 0 or 1, not " + v);
            }
            return v == 1;
        }

        Timestamp timestamp() throws MalformedException {
            need(10, "a timestamp");
            Timestamp t = new Timestamp(Codec.u64(b, off), Codec.u16(b, off + 8));
            off += 10;
            return t;
        }

        byte[] raw(int n) throws MalformedException {
            need(n, "a field");
            byte[] v = java.util.Arrays.copyOfRange(b, off, off + n);
            off += n;
            return v;
        }

        byte[] value() throws MalformedException {
            long n = u32();
            if (n > MAX_VALUE) {
                throw new MalformedException("value of " + n + " bytes exceeds " + MAX_VALUE);
            }
            return raw((int) n);
        }
    }
}
