package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The client over TLS against a real memdbd that serves TLS only and
 * requires client certificates (-tls-cert, -tls-key, -tls-client-ca), with
 * certificates made by `go test ./java -run TestTLSFiles` (make java-test
 * writes them and passes -Dmemdb.tls): a client with the CA and its
 * certificate works, in either key format; one without a certificate,
 * one that trusts another CA and a plaintext one are refused with a clear
 * error.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsTest {
    private static Path certs;
    private static Process node;
    private static String addr;
    private static Path dir;

    @BeforeAll
    static void start() throws Exception {
        String t = System.getProperty("memdb.tls");
        assertNotNull(t, "-Dmemdb.tls is not set: make java-test writes the certificates and sets it");
        certs = Path.of(t).toAbsolutePath();
        Path bin = Path.of(System.getProperty("memdb.bin", "../bin")).toAbsolutePath();
        dir = Files.createTempDirectory("memdb-java-tls");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        addr = "127.0.0.1:" + port;
        ProcessBuilder pb = new ProcessBuilder(List.of(bin.resolve("memdbd").toString(), "-id", "1", "-listen", addr,
                "-http", "", "-data", dir.resolve("node").toString(), "-rf", "1", "-fsync", "always",
                "-tls-cert", certs.resolve("node.crt").toString(), "-tls-key", certs.resolve("node.key").toString(),
                "-tls-client-ca", certs.resolve("ca.crt").toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("node.log").toFile());
        pb.environment().remove("MEMDB_CLIENT_KEY");
        node = pb.start();
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                break;
            } catch (IOException e) {
                if (!node.isAlive() || System.nanoTime() > end) {
                    throw new IllegalStateException("memdbd did not listen:\n" + Files.readString(dir.resolve("node.log")));
                }
                Thread.sleep(50);
            }
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) {
            node.destroy();
            node.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static MemDb client(Options.Builder b) {
        return MemDbConnections.connect(b.seeds(List.of(addr)).timeout(Duration.ofSeconds(5)).build());
    }

    @Test
    void aClientWithTheCaAndACertificateWorks() {
        for (String key : List.of("client.key", "client-pkcs8.key")) {
            try (MemDb db = client(Options.builder().tls(certs.resolve("ca.crt"), certs.resolve("client.crt"),
                    certs.resolve(key)))) {
                db.set("tls-" + key, "over TLS");
                assertEquals("over TLS", db.get("tls-" + key), key);
            }
        }
    }

    /** Connects with b and reads a key: the refusal, as the caller sees it. */
    private static AuthException refused(Options.Builder b) {
        return assertThrows(AuthException.class, () -> {
            try (MemDb db = client(b)) {
                db.get("k");
            }
        });
    }

    @Test
    void aClientWithoutACertificateIsRefused() {
        AuthException e = refused(Options.builder().tls(certs.resolve("ca.crt")));
        assertTrue(e.getMessage().contains("certificate"), "got " + e);
    }

    @Test
    void aClientTrustingAnotherCaIsRefused() {
        AuthException e = refused(Options.builder().tls(certs.resolve("other-ca.crt"), certs.resolve("client.crt"),
                certs.resolve("client.key")));
        assertTrue(e.getMessage().contains("TLS not agreed"), "got " + e);
    }

    @Test
    void aPlaintextClientHearsWhy() {
        AuthException e = refused(Options.builder());
        assertTrue(e.getMessage().contains("TLS only") && e.getMessage().contains("tls(ca)"), "got " + e);
    }

    @Test
    void badFilesAreRefusedWhenBuilt() {
        assertThrows(IllegalArgumentException.class, () -> Options.builder().seeds(List.of(addr))
                .tls(certs.resolve("client.crt"), certs.resolve("client.crt"), null).build());
        assertThrows(IllegalArgumentException.class, () -> Options.builder().seeds(List.of(addr))
                .tls(certs.resolve("ca.crt"), certs.resolve("client.crt"), certs.resolve("client.crt")).build());
    }
}
