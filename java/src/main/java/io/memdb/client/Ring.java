package io.memdb.client;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The cluster's consistent-hashing ring as a node sends it in RingInfo, in
 * node/ring's encoding (node/ring/encoding.go and its doc.go), and the
 * preference list of a key: the first rf distinct owners of the tokens met
 * walking clockwise from the key's hash. Immutable.
 *
 * <pre>
 * "RING" | version (1) | epoch uvarint | member count uvarint | members | crc32c (4)
 * member: id (2) | kind (1: 0 explicit, 1 virtual) | token count uvarint | explicit: tokens (8 each)
 * </pre>
 *
 * A virtual member owns Fingerprint64 of "id/i" for i below its count.
 * Tokens are unsigned 64-bit; they are kept with the sign bit flipped, so
 * that signed order is unsigned order and Arrays.binarySearch works.
 */
final class Ring {
    private static final int VERSION = 1;
    private static final int MAX_TOKENS = 4096;
    private static final int MAX_RING_TOKENS = 1 << 20;

    final long epoch;
    private final int[] ids; // ascending
    private final long[] tokens; // ascending, sign-flipped
    private final int[] owners; // owners[i] owns tokens[i]

    private Ring(long epoch, int[] ids, long[] tokens, int[] owners) {
        this.epoch = epoch;
        this.ids = ids;
        this.tokens = tokens;
        this.owners = owners;
    }

    /** The node ids of the members, ascending. */
    int[] ids() {
        return ids.clone();
    }

    boolean has(int id) {
        return Arrays.binarySearch(ids, id) >= 0;
    }

    /** Hash is where key falls on the ring. */
    static long hash(byte[] key) {
        return Farm.fingerprint64(key);
    }

    /** The tokens of a virtual member: Fingerprint64 of "id/i". */
    static long[] virtualTokens(int id, int count) {
        long[] t = new long[count];
        for (int i = 0; i < count; i++) {
            t[i] = hash((id + "/" + i).getBytes(StandardCharsets.US_ASCII));
        }
        return t;
    }

    /** The preference list of ring position h: at most rf distinct node ids. */
    int[] replicasOf(long h, int rf) {
        int n = tokens.length;
        rf = Math.min(rf, ids.length);
        if (rf < 1 || n == 0) {
            return new int[0];
        }
        int[] out = new int[rf];
        int got = 0;
        int i = Arrays.binarySearch(tokens, h ^ Long.MIN_VALUE);
        if (i < 0) {
            i = -i - 1;
        }
        for (int step = 0; step < n && got < rf; step++) {
            int j = i + step;
            if (j >= n) {
                j -= n;
            }
            int id = owners[j];
            boolean seen = false;
            for (int k = 0; k < got; k++) {
                seen |= out[k] == id;
            }
            if (!seen) {
                out[got++] = id;
            }
        }
        return got == rf ? out : Arrays.copyOf(out, got);
    }

    /** Decodes node/ring's encoding; IllegalArgumentException if b is not one. */
    static Ring decode(byte[] b) {
        if (b.length < 9) {
            throw new IllegalArgumentException("ring: " + b.length + " bytes is too short");
        }
        if (b[0] != 'R' || b[1] != 'I' || b[2] != 'N' || b[3] != 'G') {
            throw new IllegalArgumentException("ring: bad magic");
        }
        if (b[4] != VERSION) {
            throw new IllegalArgumentException("ring: encoding version " + b[4] + ", this client reads " + VERSION);
        }
        int end = b.length - 4;
        CRC32C crc = new CRC32C();
        crc.update(b, 0, end);
        long want = ((b[end] & 0xffL) << 24) | ((b[end + 1] & 0xffL) << 16) | ((b[end + 2] & 0xffL) << 8)
                | (b[end + 3] & 0xffL);
        if (crc.getValue() != want) {
            throw new IllegalArgumentException("ring: checksum mismatch");
        }
        int[] off = {5};
        long epoch = uvarint(b, off, end);
        long count = uvarint(b, off, end);
        if (count > (end - off[0]) / 4) {
            throw new IllegalArgumentException("ring: member count " + count + " does not fit");
        }
        int[] ids = new int[(int) count];
        long[][] memberTokens = new long[(int) count][];
        int total = 0;
        for (int m = 0; m < count; m++) {
            if (end - off[0] < 3) {
                throw new IllegalArgumentException("ring: member " + m + " is truncated");
            }
            int id = ((b[off[0]] & 0xff) << 8) | (b[off[0] + 1] & 0xff);
            int kind = b[off[0] + 2] & 0xff;
            off[0] += 3;
            long n = uvarint(b, off, end);
            if (id == 0 || (m > 0 && id <= ids[m - 1])) {
                throw new IllegalArgumentException("ring: member " + m + " has id " + id + " out of order");
            }
            if (n < 1 || n > MAX_TOKENS || total + n > MAX_RING_TOKENS) {
                throw new IllegalArgumentException("ring: node " + id + " has " + n + " tokens");
            }
            total += (int) n;
            ids[m] = id;
            if (kind == 1) {
                memberTokens[m] = virtualTokens(id, (int) n);
            } else if (kind == 0) {
                if (end - off[0] < n * 8) {
                    throw new IllegalArgumentException("ring: node " + id + "'s tokens are truncated");
                }
                long[] t = new long[(int) n];
                for (int k = 0; k < n; k++) {
                    long v = 0;
                    for (int j = 0; j < 8; j++) {
                        v = (v << 8) | (b[off[0]++] & 0xff);
                    }
                    t[k] = v;
                }
                memberTokens[m] = t;
            } else {
                throw new IllegalArgumentException("ring: node " + id + " has unknown kind " + kind);
            }
        }
        if (off[0] != end) {
            throw new IllegalArgumentException("ring: " + (end - off[0]) + " bytes after the last member");
        }
        // Sort (token, owner) pairs by token: pack each pair's index beside
        // its flipped token and sort indexes.
        long[] flat = new long[total];
        int[] own = new int[total];
        int k = 0;
        for (int m = 0; m < ids.length; m++) {
            for (long t : memberTokens[m]) {
                flat[k] = t ^ Long.MIN_VALUE;
                own[k] = ids[m];
                k++;
            }
        }
        Integer[] order = new Integer[total];
        for (int i = 0; i < total; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> {
            int c = Long.compare(flat[x], flat[y]);
            return c != 0 ? c : Integer.compare(own[x], own[y]);
        });
        long[] tokens = new long[total];
        int[] owners = new int[total];
        for (int i = 0; i < total; i++) {
            tokens[i] = flat[order[i]];
            owners[i] = own[order[i]];
            if (i > 0 && tokens[i] == tokens[i - 1]) {
                throw new IllegalArgumentException("ring: a token is owned twice");
            }
        }
        return new Ring(epoch, ids, tokens, owners);
    }

    private static long uvarint(byte[] b, int[] off, int end) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (off[0] >= end) {
                throw new IllegalArgumentException("ring: a varint is truncated");
            }
            int c = b[off[0]++] & 0xff;
            v |= (long) (c & 0x7f) << shift;
            if (c < 0x80) {
                return v;
            }
        }
        throw new IllegalArgumentException("ring: a varint overflows 64 bits");
    }
}
