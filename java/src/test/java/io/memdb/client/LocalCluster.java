package io.memdb.client;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Real memdbd processes on loopback, from the binaries `go build -o bin/
 * ./cmd/...` writes (-Dmemdb.bin, default ../bin): node 1 starts the
 * cluster and the others join through it, as scripts/run-local.sh does,
 * each with fsync always and data in a temp directory.
 */
final class LocalCluster implements AutoCloseable {
    final List<String> addrs = new ArrayList<>();
    private final List<String> https = new ArrayList<>();
    private final List<Process> procs = new ArrayList<>();
    private final Path dir;

    private LocalCluster(Path dir) {
        this.dir = dir;
    }

    static LocalCluster start(int n, String clientKey) throws Exception {
        Path bin = Path.of(System.getProperty("memdb.bin", "../bin")).toAbsolutePath();
        if (!Files.isExecutable(bin.resolve("memdbd"))) {
            throw new IllegalStateException(bin.resolve("memdbd") + " is missing: run `go build -o bin/ ./cmd/...`"
                    + " (make java-test does)");
        }
        LocalCluster c = new LocalCluster(Files.createTempDirectory("memdb-java-it"));
        try {
            for (int i = 0; i < n; i++) {
                c.addrs.add("127.0.0.1:" + freePort());
                c.https.add("127.0.0.1:" + freePort());
            }
            for (int i = 1; i <= n; i++) {
                List<String> args = new ArrayList<>(List.of(bin.resolve("memdbd").toString(), "-id", "" + i,
                        "-listen", c.addrs.get(i - 1), "-http", c.https.get(i - 1), "-data",
                        c.dir.resolve("node" + i).toString(), "-rf", "" + Math.min(n, 3), "-fsync", "always",
                        "-client-key", clientKey));
                if (i > 1) {
                    args.addAll(List.of("-seeds", c.addrs.get(0)));
                }
                ProcessBuilder pb = new ProcessBuilder(args).redirectErrorStream(true)
                        .redirectOutput(c.dir.resolve("node" + i + ".log").toFile());
                pb.environment().remove("MEMDB_CLIENT_KEY");
                c.procs.add(pb.start());
            }
            c.waitSettled(Duration.ofSeconds(60));
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static final Pattern MEMBER = Pattern.compile("\"phase\":\"(\\w+)\",\"state\":\"(\\w+)\"");

    /** Waits until every node's /v1/ring shows every node normal and alive. */
    private void waitSettled(Duration limit) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long end = System.nanoTime() + limit.toNanos();
        while (true) {
            boolean all = true;
            for (int i = 0; i < procs.size() && all; i++) {
                if (!procs.get(i).isAlive()) {
                    throw new IllegalStateException("memdbd " + (i + 1) + " exited:\n" + log(i + 1));
                }
                try {
                    String body = http.send(HttpRequest.newBuilder(URI.create("http://" + https.get(i) + "/v1/ring"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).body();
                    Matcher m = MEMBER.matcher(body);
                    int normal = 0;
                    while (m.find()) {
                        if (m.group(1).equals("normal") && m.group(2).equals("alive")) {
                            normal++;
                        }
                    }
                    all = normal == procs.size();
                } catch (IOException e) {
                    all = false;
                }
            }
            if (all) {
                return;
            }
            if (System.nanoTime() > end) {
                StringBuilder b = new StringBuilder("the cluster did not settle within " + limit + ":\n");
                for (int i = 1; i <= procs.size(); i++) {
                    b.append("--- node ").append(i).append(" ---\n").append(log(i));
                }
                throw new IllegalStateException(b.toString());
            }
            Thread.sleep(100);
        }
    }

    String log(int id) {
        try {
            return Files.readString(dir.resolve("node" + id + ".log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** SIGKILLs node id. */
    void kill(int id) throws InterruptedException {
        Process p = procs.get(id - 1);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
    }

    /** Stops node id (SIGSTOP), as a paused process or a stalled host: its sockets stay open. */
    void pause(int id) throws IOException, InterruptedException {
        signal(id, "-STOP");
    }

    /** Resumes node id (SIGCONT) after pause. */
    void resume(int id) throws IOException, InterruptedException {
        signal(id, "-CONT");
    }

    private void signal(int id, String sig) throws IOException, InterruptedException {
        long pid = procs.get(id - 1).pid();
        int rc = new ProcessBuilder("kill", sig, Long.toString(pid)).inheritIO().start().waitFor();
        if (rc != 0) {
            throw new IOException("kill " + sig + " " + pid + ": exit status " + rc);
        }
    }

    @Override
    public void close() {
        for (Process p : procs) {
            p.destroy(); // SIGTERM: a clean stop
        }
        for (Process p : procs) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // A temp directory left behind is harmless.
        }
    }
}
