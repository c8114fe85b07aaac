package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The Fingerprint64 port against go-farm's values for every code path. */
class FarmTest {
    @Test
    void fingerprintsMatchGoFarm() {
        int n = 0;
        for (String[] f : Golden.load().farm) {
            byte[] in = Golden.hex(f[1]);
            long want = Long.parseUnsignedLong(f[2], 16);
            long got = Farm.fingerprint64(in);
            assertEquals(HexFormat.of().toHexDigits(want), HexFormat.of().toHexDigits(got),
                    "Fingerprint64 of " + in.length + " bytes " + f[1]);
            n++;
        }
        assertTrue(n > 300, "golden.txt has " + n + " fingerprints");
    }
}
