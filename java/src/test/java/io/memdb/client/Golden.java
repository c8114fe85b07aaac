package io.memdb.client;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * java/testdata/golden.txt, which the Go test java/golden_test.go writes from
 * the Go codec, node/ring and go-farm (go test ./java -rewrite).
 */
final class Golden {
    final Map<String, Long> consts = new LinkedHashMap<>();
    final Map<String, byte[]> frames = new LinkedHashMap<>();
    final List<String[]> farm = new ArrayList<>();
    final List<String[]> replicas = new ArrayList<>();
    byte[] ring;

    private static Golden loaded;

    static synchronized Golden load() {
        if (loaded == null) {
            Path p = Path.of(System.getProperty("memdb.golden", "testdata/golden.txt"));
            List<String> lines;
            try {
                lines = Files.readAllLines(p);
            } catch (IOException e) {
                throw new UncheckedIOException("read " + p.toAbsolutePath() + " (run from java/, or set -Dmemdb.golden)", e);
            }
            Golden g = new Golden();
            for (String line : lines) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "const" -> g.consts.put(f[1], Long.parseLong(f[2]));
                    case "frame" -> g.frames.put(f[1], hex(f[2]));
                    case "farm" -> g.farm.add(f);
                    case "ring" -> g.ring = hex(f[1]);
                    case "replicas" -> g.replicas.add(f);
                    default -> throw new IllegalStateException("golden.txt: unknown line " + line);
                }
            }
            loaded = g;
        }
        return loaded;
    }

    byte[] frame(String name) {
        byte[] b = frames.get(name);
        if (b == null) {
            throw new IllegalStateException("golden.txt has no frame " + name);
        }
        return b;
    }

    static byte[] hex(String s) {
        return s.equals("-") ? new byte[0] : HexFormat.of().parseHex(s);
    }
}
