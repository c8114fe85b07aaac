package io.memdb.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS for the client (net/doc.go, "TLS"), as the Go client's LoadTLS builds
 * it: the CA that vouches for the nodes' certificates, and optionally a
 * client certificate and its key for a node that requires one
 * (-tls-client-ca). Files are PEM; a key is PKCS#8 ("PRIVATE KEY") or,
 * for EC P-256 as memdb's own tools and Go write them, SEC 1 ("EC PRIVATE
 * KEY"); convert others with {@code openssl pkcs8 -topk8 -nocrypt}.
 */
final class Tls {
    private Tls() {}

    /** An in-memory key store's password: the key never leaves this process. */
    private static final char[] STORE = "memdb".toCharArray();

    static SSLContext context(Path caPem, Path certPem, Path keyPem) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            int i = 0;
            for (Certificate c : certificates(caPem)) {
                trust.setCertificateEntry("ca" + i++, c);
            }
            if (i == 0) {
                throw new IllegalArgumentException("memdb: TLS CA " + caPem + " holds no PEM certificate");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManager[] kms = null;
            if (certPem != null || keyPem != null) {
                if (certPem == null || keyPem == null) {
                    throw new IllegalArgumentException(
                            "memdb: a TLS client certificate needs both its certificate and its key file");
                }
                List<Certificate> chain = new ArrayList<>(certificates(certPem));
                if (chain.isEmpty()) {
                    throw new IllegalArgumentException("memdb: TLS certificate " + certPem + " holds no PEM certificate");
                }
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("client", privateKey(keyPem), STORE, chain.toArray(new Certificate[0]));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, STORE);
                kms = kmf.getKeyManagers();
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kms, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("memdb: TLS: " + e.getMessage(), e);
        }
    }

    private static Collection<? extends Certificate> certificates(Path pem) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(pem)) {
            return CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
    }

    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");

    static PrivateKey privateKey(Path pem) throws IOException, GeneralSecurityException {
        Matcher m = BLOCK.matcher(Files.readString(pem, StandardCharsets.US_ASCII));
        if (!m.find()) {
            throw new IllegalArgumentException("memdb: TLS key " + pem + " holds no PEM block");
        }
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        switch (m.group(1)) {
            case "PRIVATE KEY":
                for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
                    try {
                        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
                    } catch (GeneralSecurityException e) {
                        // another algorithm
                    }
                }
                throw new IllegalArgumentException("memdb: TLS key " + pem + ": a PKCS#8 key of no known algorithm");
            case "EC PRIVATE KEY":
                return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(sec1ToPkcs8(der, pem)));
            default:
                throw new IllegalArgumentException("memdb: TLS key " + pem + " is a " + m.group(1)
                        + "; give a PKCS#8 key (openssl pkcs8 -topk8 -nocrypt)");
        }
    }

    /** The OIDs of id-ecPublicKey and of the P-256 curve, DER-encoded. */
    private static final byte[] EC_KEY = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};
    private static final byte[] P256 = {0x06, 0x08, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x03, 0x01, 0x07};

    /**
     * Wraps a SEC 1 ECPrivateKey of curve P-256 as PKCS#8's PrivateKeyInfo:
     * SEQUENCE { INTEGER 0, SEQUENCE { id-ecPublicKey, P-256 }, OCTET STRING sec1 }.
     */
    static byte[] sec1ToPkcs8(byte[] sec1, Path pem) {
        if (indexOf(sec1, P256) < 0) {
            throw new IllegalArgumentException("memdb: TLS key " + pem
                    + ": an EC key of a curve other than P-256; give a PKCS#8 key (openssl pkcs8 -topk8 -nocrypt)");
        }
        ByteArrayOutputStream alg = new ByteArrayOutputStream();
        alg.writeBytes(EC_KEY);
        alg.writeBytes(P256);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x00});
        der(body, 0x30, alg.toByteArray());
        der(body, 0x04, sec1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        der(out, 0x30, body.toByteArray());
        return out.toByteArray();
    }

    private static void der(ByteArrayOutputStream out, int tag, byte[] content) {
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else if (n < 0x100) {
            out.write(0x81);
            out.write(n);
        } else {
            out.write(0x82);
            out.write(n >> 8);
            out.write(n & 0xff);
        }
        out.writeBytes(content);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
