package io.memdb.client;

/**
 * FarmHash's 64-bit fingerprint (Fingerprint64), ported from
 * github.com/dgryski/go-farm, which the nodes use to place keys on the ring.
 * It must agree with the Go function bit for bit: a key hashed differently
 * would be sent to a node that is not its replica (still served, one hop
 * longer). FarmTest checks it against values Go wrote into
 * java/testdata/golden.txt.
 *
 * <p>Java's long arithmetic wraps as Go's uint64 does; only the right shifts
 * must be unsigned ({@code >>>}) and the 32-bit loads zero-extended.
 */
final class Farm {
    private Farm() {}

    private static final long K0 = 0xc3a5c85c97cb3127L;
    private static final long K1 = 0xb492b66fbe98f273L;
    private static final long K2 = 0x9ae16a3b2f90404fL;

    /** The 64-bit fingerprint of s, as go-farm's Fingerprint64. */
    static long fingerprint64(byte[] s) {
        int len = s.length;
        if (len <= 32) {
            return len <= 16 ? hashLen0to16(s) : hashLen17to32(s);
        }
        if (len <= 64) {
            return hashLen33to64(s);
        }
        final long seed = 81;
        long vLo = 0, vHi = 0, wLo = 0, wHi = 0;
        long x = seed * K2 + fetch64(s, 0);
        long y = seed * K1 + 113;
        long z = shiftMix(y * K2 + 113) * K2;
        int endIdx = ((len - 1) / 64) * 64;
        int last64 = endIdx + ((len - 1) & 63) - 63;
        int off = 0;
        while (len - off > 64) {
            x = Long.rotateRight(x + y + vLo + fetch64(s, off + 8), 37) * K1;
            y = Long.rotateRight(y + vHi + fetch64(s, off + 48), 42) * K1;
            x ^= wHi;
            y += vLo + fetch64(s, off + 40);
            z = Long.rotateRight(z + wLo, 33) * K1;
            long[] v = weakHashLen32WithSeeds(s, off, vHi * K1, x + wLo);
            long[] w = weakHashLen32WithSeeds(s, off + 32, z + wHi, y + fetch64(s, off + 16));
            vLo = v[0];
            vHi = v[1];
            wLo = w[0];
            wHi = w[1];
            long t = x;
            x = z;
            z = t;
            off += 64;
        }
        long mul = K1 + ((z & 0xff) << 1);
        off = last64;
        wLo += (long) ((len - 1) & 63);
        vLo += wLo;
        wLo += vLo;
        x = Long.rotateRight(x + y + vLo + fetch64(s, off + 8), 37) * mul;
        y = Long.rotateRight(y + vHi + fetch64(s, off + 48), 42) * mul;
        x ^= wHi * 9;
        y += vLo * 9 + fetch64(s, off + 40);
        z = Long.rotateRight(z + wLo, 33) * mul;
        long[] v = weakHashLen32WithSeeds(s, off, vHi * mul, x + wLo);
        long[] w = weakHashLen32WithSeeds(s, off + 32, z + wHi, y + fetch64(s, off + 16));
        long t = x;
        x = z;
        z = t;
        return hashLen16Mul(hashLen16Mul(v[0], w[0], mul) + shiftMix(y) * K0 + z,
                hashLen16Mul(v[1], w[1], mul) + x, mul);
    }

    private static long shiftMix(long v) {
        return v ^ (v >>> 47);
    }

    private static long hashLen16Mul(long u, long v, long mul) {
        long a = (u ^ v) * mul;
        a ^= a >>> 47;
        long b = (v ^ a) * mul;
        b ^= b >>> 47;
        return b * mul;
    }

    private static long hashLen0to16(byte[] s) {
        int len = s.length;
        if (len >= 8) {
            long mul = K2 + len * 2L;
            long a = fetch64(s, 0) + K2;
            long b = fetch64(s, len - 8);
            long c = Long.rotateRight(b, 37) * mul + a;
            long d = (Long.rotateRight(a, 25) + b) * mul;
            return hashLen16Mul(c, d, mul);
        }
        if (len >= 4) {
            long mul = K2 + len * 2L;
            long a = fetch32(s, 0);
            return hashLen16Mul(len + (a << 3), fetch32(s, len - 4), mul);
        }
        if (len > 0) {
            long a = s[0] & 0xff;
            long b = s[len >> 1] & 0xff;
            long c = s[len - 1] & 0xff;
            long y = a + (b << 8);
            long z = len + (c << 2);
            return shiftMix(y * K2 ^ z * K0) * K2;
        }
        return K2;
    }

    private static long hashLen17to32(byte[] s) {
        int len = s.length;
        long mul = K2 + len * 2L;
        long a = fetch64(s, 0) * K1;
        long b = fetch64(s, 8);
        long c = fetch64(s, len - 8) * mul;
        long d = fetch64(s, len - 16) * K2;
        return hashLen16Mul(Long.rotateRight(a + b, 43) + Long.rotateRight(c, 30) + d,
                a + Long.rotateRight(b + K2, 18) + c, mul);
    }

    private static long hashLen33to64(byte[] s) {
        int len = s.length;
        long mul = K2 + len * 2L;
        long a = fetch64(s, 0) * K2;
        long b = fetch64(s, 8);
        long c = fetch64(s, len - 8) * mul;
        long d = fetch64(s, len - 16) * K2;
        long y = Long.rotateRight(a + b, 43) + Long.rotateRight(c, 30) + d;
        long z = hashLen16Mul(y, a + Long.rotateRight(b + K2, 18) + c, mul);
        long e = fetch64(s, 16) * mul;
        long f = fetch64(s, 24);
        long g = (y + fetch64(s, len - 32)) * mul;
        long h = (z + fetch64(s, len - 24)) * mul;
        return hashLen16Mul(Long.rotateRight(e + f, 43) + Long.rotateRight(g, 30) + h,
                e + Long.rotateRight(f + a, 18) + g, mul);
    }

    /** A 16-byte hash of s[off, off+32), a and b, as {lo, hi}. */
    private static long[] weakHashLen32WithSeeds(byte[] s, int off, long a, long b) {
        long w = fetch64(s, off), x = fetch64(s, off + 8), y = fetch64(s, off + 16), z = fetch64(s, off + 24);
        a += w;
        b = Long.rotateRight(b + a + z, 21);
        long c = a;
        a += x;
        a += y;
        b += Long.rotateRight(a, 44);
        return new long[] {a + z, b + c};
    }

    private static long fetch64(byte[] s, int i) {
        return (s[i] & 0xffL) | (s[i + 1] & 0xffL) << 8 | (s[i + 2] & 0xffL) << 16 | (s[i + 3] & 0xffL) << 24
                | (s[i + 4] & 0xffL) << 32 | (s[i + 5] & 0xffL) << 40 | (s[i + 6] & 0xffL) << 48
                | (s[i + 7] & 0xffL) << 56;
    }

    private static long fetch32(byte[] s, int i) {
        return (s[i] & 0xffL) | (s[i + 1] & 0xffL) << 8 | (s[i + 2] & 0xffL) << 16 | (s[i + 3] & 0xffL) << 24;
    }
}
