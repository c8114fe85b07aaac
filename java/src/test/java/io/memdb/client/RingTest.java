package io.memdb.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** node/ring's encoding and preference lists, against the Go ring's. */
class RingTest {
    @Test
    void decodesTheGoRing() {
        Ring r = Ring.decode(Golden.load().ring);
        assertEquals(3, r.epoch);
        assertArrayEquals(new int[] {1, 2, 3, 9}, r.ids());
        assertTrue(r.has(9));
        assertFalse(r.has(4));
    }

    @Test
    void replicasAreTheGoRingsReplicas() {
        Ring r = Ring.decode(Golden.load().ring);
        int n = 0;
        for (String[] f : Golden.load().replicas) {
            byte[] key = Golden.hex(f[1]);
            int rf = Integer.parseInt(f[2]);
            int[] want = Arrays.stream(f[3].split(",")).mapToInt(Integer::parseInt).toArray();
            assertArrayEquals(want, r.replicasOf(Ring.hash(key), rf), new String(key) + " at rf " + rf);
            n++;
        }
        assertTrue(n > 100);
    }

    @Test
    void refusesDamagedEncodings() {
        byte[] good = Golden.load().ring;
        byte[] flipped = good.clone();
        flipped[6] ^= 1;
        assertThrows(IllegalArgumentException.class, () -> Ring.decode(flipped));
        assertThrows(IllegalArgumentException.class, () -> Ring.decode(Arrays.copyOf(good, 8)));
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertThrows(IllegalArgumentException.class, () -> Ring.decode(magic));
    }

    @Test
    void dialableAddresses() {
        assertTrue(Client.dialable("127.0.0.1:7400"));
        assertTrue(Client.dialable("[::1]:7400"));
        assertTrue(Client.dialable("db.example:7400"));
        assertFalse(Client.dialable("0.0.0.0:7400"));
        assertFalse(Client.dialable("[::]:7400"));
        assertFalse(Client.dialable(":7400"));
        assertFalse(Client.dialable("host"));
    }
}
