package java

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/memdb/memdb/net/tlstest"
)

// tlsOut is where TestTLSFiles writes the certificates the Java client's
// TLS test uses (make java-test passes it): a CA, a node's and a client's
// certificate and key signed by it (keys in SEC 1, as Go writes EC keys;
// the client's also in PKCS#8), and a CA that signed nothing here.
var tlsOut = flag.String("tls.out", "", "write the Java TLS test's certificates into this directory")

func TestTLSFiles(t *testing.T) {
	if *tlsOut == "" {
		t.Skip("writes files for make java-test: go test ./java -run TestTLSFiles -tls.out DIR")
	}
	if err := os.MkdirAll(*tlsOut, 0o755); err != nil {
		t.Fatal(err)
	}
	ca := tlstest.NewCA(t, "memdb java test CA")
	ca.File(t, *tlsOut, "ca")
	tlstest.NewCA(t, "another CA").File(t, *tlsOut, "other-ca")
	ca.Issue(t, "node").Files(t, *tlsOut, "node")
	client := ca.Issue(t, "client")
	client.Files(t, *tlsOut, "client")
	b, _ := pem.Decode(client.KeyPEM)
	k, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*tlsOut, "client-pkcs8.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
}
