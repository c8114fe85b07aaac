package io.memdb.client;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * One authenticated, pipelined connection to a node.
 *
 * <p>Callers queue requests with {@link #send}, which frames the request
 * into the outgoing buffer (stamped with the session clock) and wakes the
 * writer thread; the writer sends everything queued since its last write
 * in one write, so concurrent requests coalesce. The reader thread decodes
 * replies and completes the future registered under each reply's id.
 * Futures complete on the reader thread. When anything breaks, the
 * connection fails as a whole: every waiter gets a {@link LostException},
 * and the client dials a new connection on the next call.
 */
final class Connection {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** The connection broke after the request may have been sent. */
    static final class LostException extends IOException {
        private static final long serialVersionUID = 1L;

        LostException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The connection had broken before the request was queued: it was not sent. */
    static final class NotSentException extends IOException {
        private static final long serialVersionUID = 1L;

        NotSentException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A request in flight: its id and the future of its reply. */
    record Call(long id, CompletableFuture<Codec.Frame> reply) {}

    final String addr;
    private final Socket socket;
    private final Session session;
    /** Hears every frame that comes (see Health); null: nobody listens. */
    private final Health health;
    private final ConcurrentHashMap<Long, CompletableFuture<Codec.Frame>> pending = new ConcurrentHashMap<>();

    private final Object lock = new Object();
    private long nextId;
    private byte[] out = new byte[4096];
    private int outLen;
    private byte[] spare = new byte[4096];
    private volatile IOException failure;

    private Connection(String addr, Socket socket, Session session, Health health) {
        this.addr = addr;
        this.socket = socket;
        this.session = session;
        this.health = health;
    }

    /**
     * Connects to addr and runs the handshake (net/doc.go, "Handshake"):
     * the node's Challenge, this client's Auth with HMAC(key, client-proof
     * ...), and the node's AuthOK, whose MAC this client checks, so the key
     * never crosses the wire and each side knows the other holds it.
     * timeoutMillis bounds connecting and the handshake. Once connected,
     * every frame the node sends is told to health (null: to nobody).
     */
    static Connection open(String addr, byte[] key, Session session, int timeoutMillis, SSLContext tls,
            Health health) throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(socketAddress(addr), Math.max(1, timeoutMillis));
            s.setSoTimeout(Math.max(1, timeoutMillis));
            DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(s.getInputStream(), 64 << 10));
            OutputStream os = s.getOutputStream();
            Codec.Frame f = readFrame(in, addr);
            boolean preamble = f.msg() instanceof Codec.Error e && e.code() == Codec.CODE_AUTH
                    && e.message().startsWith(Codec.TLS_REQUIRED);
            if (tls != null) {
                // The node's plaintext preamble, then TLS (net/doc.go, "TLS").
                if (!preamble) {
                    throw new AuthException(addr + " sent kind " + f.kind() + " first, not the TLS preamble: it serves"
                            + " plaintext (connect without TLS, or start it with -tls-cert)");
                }
                SSLSocket ss = (SSLSocket) tls.getSocketFactory().createSocket(s, host(addr), s.getPort(), true);
                SSLParameters p = ss.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the address dialed
                ss.setSSLParameters(p);
                ss.setUseClientMode(true);
                try {
                    ss.startHandshake();
                } catch (SSLException e) {
                    throw new AuthException("TLS not agreed with " + addr + ": " + e.getMessage(), Codec.CODE_AUTH, e);
                }
                s = ss;
                in = new DataInputStream(new java.io.BufferedInputStream(ss.getInputStream(), 64 << 10));
                os = ss.getOutputStream();
                f = readFrame(in, addr);
            }
            session.observe(f.clock());
            if (f.msg() instanceof Codec.Error e && e.code() == Codec.CODE_AUTH) {
                // A node that serves TLS only says so first (net/doc.go, "TLS").
                throw new AuthException("auth refused by " + addr + ": " + e.message()
                        + (preamble ? " (Options.builder().tls(ca))" : ""), e.code(), null);
            }
            if (!(f.msg() instanceof Codec.Challenge ch)) {
                throw new Codec.MalformedException(addr + " sent kind " + f.kind()
                        + " first, not a challenge (is it a memdb node?)");
            }
            if (ch.version() < Codec.VERSION) {
                throw new IOException(addr + " speaks protocol version " + ch.version() + "; this client needs "
                        + Codec.VERSION);
            }
            byte[] nonce = new byte[Codec.NONCE];
            RANDOM.nextBytes(nonce);
            byte[] mac = Codec.clientProof(key, ch.nonce(), nonce);
            os.write(Codec.frame(Codec.auth(nonce, mac), 1, session.now()));
            os.flush();
            f = readFrame(in, addr);
            session.observe(f.clock());
            if (f.msg() instanceof Codec.Error e) {
                if (e.code() == Codec.CODE_AUTH) {
                    throw new AuthException("auth refused by " + addr + ": " + e.message(), e.code(), null);
                }
                throw new IOException("handshake with " + addr + ": " + e.message());
            }
            if (!(f.msg() instanceof Codec.AuthOk ok)) {
                throw new Codec.MalformedException(addr + " answered auth with kind " + f.kind());
            }
            if (!MessageDigest.isEqual(ok.mac(), Codec.serverProof(key, ch.nonce(), nonce))) {
                throw new AuthException(addr + " could not prove it knows the client key (is it a memdb node of"
                        + " this cluster?)");
            }
            s.setSoTimeout(0);
            Connection c = new Connection(addr, s, session, health);
            c.start(in, os);
            return c;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The host part of addr ("host:port", "[v6]:port"). */
    static String host(String addr) {
        String host = addr.substring(0, Math.max(0, addr.lastIndexOf(':')));
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return host;
    }

    static InetSocketAddress socketAddress(String addr) throws IOException {
        int colon = addr.lastIndexOf(':');
        if (colon <= 0 || colon == addr.length() - 1) {
            throw new IOException("address " + addr + " is not host:port");
        }
        String host = addr.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(addr.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IOException("address " + addr + " has no port number");
        }
        return new InetSocketAddress(host, port);
    }

    private void start(DataInputStream in, OutputStream os) {
        Thread r = new Thread(() -> readLoop(in), "memdb-read " + addr);
        Thread w = new Thread(() -> writeLoop(os), "memdb-write " + addr);
        r.setDaemon(true);
        w.setDaemon(true);
        r.start();
        w.start();
    }

    boolean alive() {
        return failure == null;
    }

    /**
     * Queues r and returns its call. If the connection had already broken,
     * the future fails with a NotSentException: the request was not sent.
     */
    Call send(Codec.Request r) {
        CompletableFuture<Codec.Frame> f = new CompletableFuture<>();
        long id;
        boolean wake;
        synchronized (lock) {
            IOException err = failure;
            if (err != null) {
                f.completeExceptionally(new NotSentException(addr + ": " + err.getMessage(), err));
                return new Call(0, f);
            }
            id = ++nextId;
            int n = Codec.HEADER + r.body().length;
            if (outLen + n > out.length) {
                out = java.util.Arrays.copyOf(out, Math.max(out.length * 2, outLen + n));
            }
            // The clock is read under the lock, so it is at least what the
            // session knew when this request was queued.
            Codec.appendFrame(out, outLen, r, id, session.now());
            // Registered only once the frame is queued, so a request that
            // fails to encode leaves no waiter behind; the reply cannot
            // come before the writer sends it, after this lock is released.
            pending.put(id, f);
            wake = outLen == 0;
            outLen += n;
            if (wake) {
                lock.notify();
            }
        }
        return new Call(id, f);
    }

    /** Drops the waiter of a call whose caller gave up; a late reply is discarded. */
    void forget(long id) {
        pending.remove(id);
    }

    private void writeLoop(OutputStream os) {
        try {
            while (true) {
                byte[] buf;
                int n;
                synchronized (lock) {
                    while (outLen == 0 && failure == null) {
                        lock.wait();
                    }
                    if (failure != null) {
                        return;
                    }
                    buf = out;
                    n = outLen;
                    out = spare;
                    outLen = 0;
                }
                os.write(buf, 0, n);
                os.flush();
                synchronized (lock) {
                    // Keep the buffer for the next swap unless one large
                    // value grew it.
                    spare = buf.length <= (1 << 20) ? buf : new byte[4096];
                }
            }
        } catch (IOException e) {
            fail(new IOException("write to " + addr + ": " + e.getMessage(), e));
        } catch (InterruptedException e) {
            fail(new IOException("writer interrupted"));
        }
    }

    private void readLoop(DataInputStream in) {
        try {
            while (true) {
                Codec.Frame f = readFrame(in, addr);
                session.observe(f.clock());
                if (health != null) {
                    health.hear(Health.now());
                }
                if (f.id() == 0) {
                    // A frame that answers no request: the node says why it
                    // is about to close the connection.
                    if (f.msg() instanceof Codec.Error e) {
                        fail(new IOException(addr + " closed the connection: " + e.message()));
                        return;
                    }
                    continue;
                }
                CompletableFuture<Codec.Frame> w = pending.remove(f.id());
                if (w != null) {
                    w.complete(f);
                }
            }
        } catch (IOException e) {
            fail(e);
        }
    }

    /** Reads and decodes one frame. */
    private static Codec.Frame readFrame(DataInputStream in, String addr) throws IOException {
        byte[] head = new byte[4];
        try {
            in.readFully(head);
        } catch (java.io.EOFException e) {
            throw new IOException("closed by " + addr, e);
        }
        int n = Codec.frameLen(head, 0);
        byte[] b = new byte[n];
        System.arraycopy(head, 0, b, 0, 4);
        try {
            in.readFully(b, 4, n - 4);
        } catch (java.io.EOFException e) {
            throw new IOException("closed by " + addr + " in the middle of a frame", e);
        }
        return Codec.decode(b);
    }

    /** Breaks the connection for reason, once, and tells every waiter. */
    void fail(IOException reason) {
        synchronized (lock) {
            if (failure != null) {
                return;
            }
            failure = reason;
            lock.notifyAll();
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing a broken socket can fail; it is closed either way.
        }
        List<CompletableFuture<Codec.Frame>> waiters = new ArrayList<>(pending.values());
        pending.clear();
        LostException lost = new LostException("connection to " + addr + " lost: " + reason.getMessage(), reason);
        for (CompletableFuture<Codec.Frame> w : waiters) {
            w.completeExceptionally(lost);
        }
    }
}
