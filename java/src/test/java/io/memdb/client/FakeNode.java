package io.memdb.client;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A node that speaks just enough of the protocol to test the client's
 * failure handling: the handshake, then, by mode, answers (Get: a Value
 * "fake" at version (100, 1); Set: Done at (101, 1); every frame stamped
 * with that clock; Incr: as incrScript says; GetCounter: the counter's
 * value; Ring: ringInfo, if set), hangs up on the first request, or never
 * answers. {@link #pause} holds every answer until {@link #resume}, as a
 * stopped process would (the handshake still runs).
 */
final class FakeNode implements AutoCloseable {
    enum Mode { ANSWER, DROP, SILENT }

    /** A request the node received: its kind and clock, and the whole frame. */
    record Received(int kind, Timestamp clock, byte[] frame) {}

    /** An increment the node received, decoded. */
    record Incr(int level, String key, long delta, long session, long seq, int attempt, Timestamp first) {
        static Incr of(byte[] f) {
            int o = Codec.HEADER;
            int level = f[o] & 0xff;
            int k = Codec.u16(f, o + 1);
            String key = new String(f, o + 3, k, StandardCharsets.UTF_8);
            int p = o + 3 + k;
            return new Incr(level, key, Codec.u64(f, p), Codec.u64(f, p + 8), Codec.u64(f, p + 16),
                    (int) Codec.u32(f, p + 24), new Timestamp(Codec.u64(f, p + 28), Codec.u16(f, p + 36)));
        }
    }

    /** What the node does with an increment (in mode ANSWER). */
    enum Act { APPLY, UNKNOWN_OUTCOME, DROP, SILENT, WRONG_KIND, UNAVAILABLE, SHUTTING_DOWN }

    /**
     * Decides what the node does with each increment, given it; APPLY adds
     * its delta once per operation id (session, seq), answering a repeat
     * with the first result, as a node's applied-ops table does.
     */
    volatile java.util.function.Function<Incr, Act> incrScript = in -> Act.APPLY;

    private final java.util.Map<String, Long> counters = new java.util.HashMap<>();
    private final java.util.Map<java.util.List<Long>, Long> applied = new java.util.HashMap<>();

    static final Timestamp READ_VERSION = new Timestamp(100, 1);
    static final Timestamp WRITE_VERSION = new Timestamp(101, 1);

    final String addr;
    final List<Received> received = Collections.synchronizedList(new ArrayList<>());
    private final ServerSocket server;
    private final byte[] key;
    private final Mode mode;
    /** Answer AuthOK with a proof made with the wrong key. */
    boolean lieAboutKey;
    /** If set, sent instead of the Challenge, and nothing after it (as a TLS node's preamble). */
    volatile byte[] first;
    private final List<Socket> conns = Collections.synchronizedList(new ArrayList<>());
    /** The body of the RingInfo that answers Ring; null: Ring is not answered (but see noRing). */
    volatile byte[] ringInfo;
    /** Answer Ring with CodeUnknownKind, as a node that does not serve the ring. */
    volatile boolean noRing;
    /** Accept connections and never greet them, as a process that hangs (or a black hole). */
    volatile boolean mute;
    /** Guards paused and held, and orders every answer. */
    private final Object replies = new Object();
    private boolean paused;
    private final List<Object[]> held = new ArrayList<>();

    FakeNode(String key, Mode mode) throws IOException {
        this.key = key.getBytes(StandardCharsets.UTF_8);
        this.mode = mode;
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        addr = "127.0.0.1:" + server.getLocalPort();
        Thread t = new Thread(this::accept, "fake-node " + addr);
        t.setDaemon(true);
        t.start();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                conns.add(s);
                Thread t = new Thread(() -> serve(s), "fake-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            if (mute) {
                in.read(); // until the client hangs up
                return;
            }
            byte[] preamble = first;
            if (preamble != null) {
                out.write(preamble);
                out.flush();
                in.read(); // until the client hangs up
                return;
            }
            byte[] nonceS = new byte[Codec.NONCE];
            for (int i = 0; i < nonceS.length; i++) {
                nonceS[i] = (byte) (7 * i);
            }
            byte[] challenge = new byte[3 + Codec.NONCE];
            challenge[0] = 1;
            challenge[2] = 9;
            System.arraycopy(nonceS, 0, challenge, 3, Codec.NONCE);
            out.write(Codec.frame(new Codec.Request(Codec.CHALLENGE, challenge), 0, Timestamp.ZERO));
            byte[] auth = read(in);
            byte[] nonceC = java.util.Arrays.copyOfRange(auth, Codec.HEADER + 3, Codec.HEADER + 3 + Codec.NONCE);
            byte[] mac = java.util.Arrays.copyOfRange(auth, Codec.HEADER + 3 + Codec.NONCE, auth.length);
            if (!lieAboutKey && !MessageDigest.isEqual(mac, Codec.clientProof(key, nonceS, nonceC))) {
                byte[] msg = "bad client key".getBytes(StandardCharsets.UTF_8);
                byte[] body = new byte[4 + msg.length];
                body[1] = Codec.CODE_AUTH;
                body[3] = (byte) msg.length;
                System.arraycopy(msg, 0, body, 4, msg.length);
                out.write(Codec.frame(new Codec.Request(Codec.ERROR, body), 1, Timestamp.ZERO));
                return;
            }
            byte[] proofKey = lieAboutKey ? "not the key".getBytes(StandardCharsets.UTF_8) : key;
            out.write(Codec.frame(new Codec.Request(Codec.AUTH_OK, Codec.serverProof(proofKey, nonceS, nonceC)), 1,
                    Timestamp.ZERO));
            while (true) {
                byte[] f = read(in);
                int kind = f[9] & 0xff;
                long id = Codec.u64(f, 10);
                received.add(new Received(kind, new Timestamp(Codec.u64(f, 18), Codec.u16(f, 26)), f));
                if (mode == Mode.DROP) {
                    return;
                }
                if (mode == Mode.SILENT) {
                    continue;
                }
                if (kind == Codec.GET) {
                    byte[] v = "fake".getBytes(StandardCharsets.UTF_8);
                    byte[] body = new byte[15 + v.length];
                    body[0] = 1;
                    Codec.putU64(body, 1, READ_VERSION.counter());
                    body[10] = (byte) READ_VERSION.node();
                    Codec.putU32(body, 11, v.length);
                    System.arraycopy(v, 0, body, 15, v.length);
                    answer(out, Codec.frame(new Codec.Request(Codec.VALUE, body), id, READ_VERSION));
                } else if (kind == Codec.INCR) {
                    Incr incr = Incr.of(f);
                    Act act = incrScript.apply(incr);
                    switch (act) {
                        case DROP -> {
                            return;
                        }
                        case SILENT -> {
                            continue;
                        }
                        case UNKNOWN_OUTCOME -> answer(out, error(id, Codec.CODE_UNKNOWN_OUTCOME, "replicas silent"));
                        case WRONG_KIND -> answer(out, error(id, Codec.CODE_WRONG_KIND, "the key holds a value"));
                        case UNAVAILABLE -> answer(out, error(id, Codec.CODE_UNAVAILABLE, "1 of 3 replicas"));
                        case SHUTTING_DOWN -> answer(out, error(id, Codec.CODE_SHUTTING_DOWN, "stopping"));
                        case APPLY -> answer(out, counterValue(id, apply(incr)));
                    }
                } else if (kind == Codec.GET_COUNTER) {
                    int k = Codec.u16(f, Codec.HEADER + 1);
                    String key = new String(f, Codec.HEADER + 3, k, StandardCharsets.UTF_8);
                    long v;
                    synchronized (counters) {
                        v = counters.getOrDefault(key, 0L);
                    }
                    answer(out, counterValue(id, v));
                } else if (kind == Codec.RING && noRing) {
                    answer(out, error(id, Codec.CODE_UNKNOWN_KIND, "unknown kind 21"));
                } else if (kind == Codec.RING && ringInfo != null) {
                    answer(out, Codec.frame(new Codec.Request(Codec.RING_INFO, ringInfo), id, Timestamp.ZERO));
                } else if (kind == Codec.SET) {
                    byte[] body = new byte[10];
                    Codec.putU64(body, 0, WRITE_VERSION.counter());
                    body[9] = (byte) WRITE_VERSION.node();
                    answer(out, Codec.frame(new Codec.Request(Codec.DONE, body), id, WRITE_VERSION));
                }
            }
        } catch (IOException e) {
            // The client hung up.
        }
    }

    /** Sends an answer, or holds it while the node is paused. */
    private void answer(OutputStream out, byte[] frame) throws IOException {
        synchronized (replies) {
            if (paused) {
                held.add(new Object[] {out, frame});
                return;
            }
            out.write(frame);
        }
    }

    /** Holds every answer until resume. */
    void pause() {
        synchronized (replies) {
            paused = true;
        }
    }

    /** Sends the answers held, in order, and answers at once again. */
    void resume() {
        synchronized (replies) {
            paused = false;
            for (Object[] h : held) {
                try {
                    ((OutputStream) h[0]).write((byte[]) h[1]);
                } catch (IOException e) {
                    // That connection is gone (see dropConns).
                }
            }
            held.clear();
        }
    }

    /** Closes every connection accepted so far; the node still accepts new ones. */
    void dropConns() throws IOException {
        synchronized (conns) {
            for (Socket s : conns) {
                s.close();
            }
            conns.clear();
        }
    }

    /** The requests of kind received so far, of the key given (a keyed kind's). */
    long count(int kind, String key) {
        synchronized (received) {
            return received.stream().filter(r -> r.kind() == kind && keyOf(r.frame()).equals(key)).count();
        }
    }

    /** The consistency level (wire) of a keyed request. */
    static int levelOf(byte[] frame) {
        return frame[Codec.HEADER] & 0xff;
    }

    private static String keyOf(byte[] f) {
        if (f.length < Codec.HEADER + 3) {
            return "";
        }
        int k = Codec.u16(f, Codec.HEADER + 1);
        return new String(f, Codec.HEADER + 3, Math.min(k, f.length - Codec.HEADER - 3), StandardCharsets.UTF_8);
    }

    /**
     * The body of a RingInfo for a ring of virtual members (16 tokens each)
     * of ids at epoch 1, with replication factor rf, nodes[i] being ids[i].
     */
    static byte[] ringInfo(int rf, int[] ids, FakeNode... nodes) {
        java.io.ByteArrayOutputStream r = new java.io.ByteArrayOutputStream();
        r.writeBytes("RING".getBytes(StandardCharsets.US_ASCII));
        r.write(1); // encoding version
        r.write(1); // epoch
        r.write(ids.length);
        for (int id : ids) {
            r.write(id >>> 8);
            r.write(id);
            r.write(1); // virtual
            r.write(16);
        }
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(r.toByteArray());
        long c = crc.getValue();
        r.write((int) (c >>> 24));
        r.write((int) (c >>> 16));
        r.write((int) (c >>> 8));
        r.write((int) c);
        byte[] ring = r.toByteArray();
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.write(rf);
        byte[] n = new byte[4];
        Codec.putU32(n, 0, ring.length);
        b.writeBytes(n);
        b.writeBytes(ring);
        Codec.putU32(n, 0, nodes.length);
        b.writeBytes(n);
        for (int i = 0; i < nodes.length; i++) {
            byte[] a = nodes[i].addr.getBytes(StandardCharsets.US_ASCII);
            b.write(ids[i] >>> 8);
            b.write(ids[i]);
            b.write(a.length);
            b.writeBytes(a);
        }
        return b.toByteArray();
    }

    private long apply(Incr in) {
        synchronized (counters) {
            java.util.List<Long> op = java.util.List.of(in.session(), in.seq());
            Long v = applied.get(op);
            if (v == null) {
                v = counters.getOrDefault(in.key(), 0L) + in.delta();
                counters.put(in.key(), v);
                applied.put(op, v);
            }
            return v;
        }
    }

    /** Sets the counter key to v, as increments applied before the test would have. */
    void setCounter(String key, long v) {
        synchronized (counters) {
            counters.put(key, v);
        }
    }

    private static byte[] counterValue(long id, long v) {
        byte[] body = new byte[8];
        Codec.putU64(body, 0, v);
        return Codec.frame(new Codec.Request(Codec.COUNTER_VALUE, body), id, Timestamp.ZERO);
    }

    private static byte[] error(long id, int code, String message) {
        byte[] msg = message.getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[4 + msg.length];
        body[1] = (byte) code;
        body[3] = (byte) msg.length;
        System.arraycopy(msg, 0, body, 4, msg.length);
        return Codec.frame(new Codec.Request(Codec.ERROR, body), id, Timestamp.ZERO);
    }

    /** The increments received, in order. */
    List<Incr> incrs() {
        synchronized (received) {
            return received.stream().filter(r -> r.kind() == Codec.INCR).map(r -> Incr.of(r.frame())).toList();
        }
    }

    private static byte[] read(DataInputStream in) throws IOException {
        byte[] head = new byte[4];
        in.readFully(head);
        int n = Codec.frameLen(head, 0);
        byte[] b = new byte[n];
        System.arraycopy(head, 0, b, 0, 4);
        in.readFully(b, 4, n - 4);
        return b;
    }

    long count(int kind) {
        synchronized (received) {
            return received.stream().filter(r -> r.kind() == kind).count();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        synchronized (conns) {
            for (Socket s : conns) {
                s.close();
            }
        }
    }
}
