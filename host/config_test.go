package host

import (
	"errors"
	"github.com/memdb/memdb/node"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/memdb/memdb/net/tlstest"
)

// loadCase is one Load of a configuration test: its flags and environment
// (the data directory is added), and what the setting tested must be, or
// that Load must refuse with a usage error.
type loadCase[T any] struct {
	name string
	args []string
	env  map[string]string
	want T
	bad  bool
}

// checkLoads runs each case through Load in dir and compares get of the
// configuration it gives with the case's want (nil and empty are equal).
func checkLoads[T any](t *testing.T, dir string, cases []loadCase[T], get func(Config) (T, error)) {
	t.Helper()
	for _, tc := range cases {
		cfg, err := Load(append(tc.args, "-data", dir), func(k string) string { return tc.env[k] }, io.Discard)
		if tc.bad {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("%s: Load = %v, want a usage error", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Load: %v", tc.name, err)
			continue
		}
		if got, err := get(cfg); err != nil || !cmp.Equal(got, tc.want, cmpopts.EquateEmpty()) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// configFile writes a config file with text in a new directory and
// returns the directory and the file's path.
func configFile(t *testing.T, text string) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "memdb.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

// -advertise (file key advertise, MEMDB_ADVERTISE) names the address peers
// dial; it must be one they can: a host (not 0.0.0.0 or ::) and a port.
func TestAdvertise(t *testing.T) {
	dir, file := configFile(t, "advertise = \"db1.example:7400\"\n")
	checkLoads(t, dir, []loadCase[string]{
		{name: "unset"},
		{name: "flag", args: []string{"-listen", "0.0.0.0:7400", "-advertise", "10.0.0.5:7400"}, want: "10.0.0.5:7400"},
		{name: "env", env: map[string]string{"MEMDB_ADVERTISE": "db2.example:7400"}, want: "db2.example:7400"},
		{name: "file", args: []string{"-config", file}, want: "db1.example:7400"},
		{name: "flag over env over file", args: []string{"-config", file, "-advertise", "[fd00::1]:7400"}, env: map[string]string{"MEMDB_ADVERTISE": "db2.example:7400"}, want: "[fd00::1]:7400"},
		{name: "unspecified host", args: []string{"-advertise", "0.0.0.0:7400"}, bad: true},
		{name: "unspecified v6", args: []string{"-advertise", "[::]:7400"}, bad: true},
		{name: "no host", args: []string{"-advertise", ":7400"}, bad: true},
		{name: "no port", args: []string{"-advertise", "db1.example"}, bad: true},
		{name: "port 0", args: []string{"-advertise", "db1.example:0"}, bad: true},
	}, func(c Config) (string, error) { return c.Advertise, nil })
}

// -on-corrupt (file key on_corrupt, MEMDB_ON_CORRUPT) is stop by default;
// rebuild needs seeds, since the node rebuilds from the replicas it finds
// through them.
func TestOnCorrupt(t *testing.T) {
	dir, file := configFile(t, "on_corrupt = \"rebuild\"\nseeds = [\"127.0.0.1:7500\"]\n")
	seeds := []string{"-seeds", "127.0.0.1:7500"}
	checkLoads(t, dir, []loadCase[string]{
		{name: "default", want: "stop"},
		{name: "flag", args: append([]string{"-on-corrupt", "rebuild"}, seeds...), want: "rebuild"},
		{name: "env", args: seeds, env: map[string]string{"MEMDB_ON_CORRUPT": "rebuild"}, want: "rebuild"},
		{name: "file", args: []string{"-config", file}, want: "rebuild"},
		{name: "flag over file", args: []string{"-config", file, "-on-corrupt", "stop"}, want: "stop"},
		{name: "rebuild without seeds", args: []string{"-on-corrupt", "rebuild"}, bad: true},
		{name: "unknown policy", args: []string{"-on-corrupt", "ignore"}, bad: true},
	}, func(c Config) (string, error) { return c.OnCorrupt, nil })
}

// moveAside renames a data directory beside itself, never over an earlier
// one, and leaves an empty directory in its place.
func TestMoveAside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var asides []string
	for range 2 {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "seg"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		aside, err := moveAside(dir, now)
		if err != nil {
			t.Fatal(err)
		}
		asides = append(asides, aside)
		if b, err := os.ReadFile(filepath.Join(aside, "seg")); err != nil || string(b) != "x" {
			t.Fatalf("moved-aside directory %s lost its file: %q, %v", aside, b, err)
		}
		if es, err := os.ReadDir(dir); err != nil || len(es) != 0 {
			t.Fatalf("data directory after moving aside: %v entries, %v; want empty", len(es), err)
		}
	}
	if asides[0] == asides[1] || asides[0] != dir+".corrupt-20261121T100000Z" {
		t.Fatalf("moved aside to %v", asides)
	}
}

// -vnodes (file key vnodes, MEMDB_VNODES) is the node's count of virtual
// tokens, 1..ring.MaxTokens.
func TestVnodes(t *testing.T) {
	dir, file := configFile(t, "vnodes = 64\n")
	checkLoads(t, dir, []loadCase[int]{
		{name: "default", want: DefaultConfig().Vnodes},
		{name: "flag", args: []string{"-vnodes", "16"}, want: 16},
		{name: "env", env: map[string]string{"MEMDB_VNODES": "32"}, want: 32},
		{name: "file", args: []string{"-config", file}, want: 64},
		{name: "flag over env over file", args: []string{"-config", file, "-vnodes", "8"}, env: map[string]string{"MEMDB_VNODES": "32"}, want: 8},
		{name: "zero", args: []string{"-vnodes", "0"}, bad: true},
		{name: "too many", args: []string{"-vnodes", "1000000"}, bad: true},
		{name: "not a number", env: map[string]string{"MEMDB_VNODES": "many"}, bad: true},
	}, func(c Config) (int, error) { return c.Vnodes, nil })
}

// -tokens (file key tokens, MEMDB_TOKENS) lists explicit places on the
// 64-bit ring: decimal, none twice.
func TestTokens(t *testing.T) {
	dir, file := configFile(t, "tokens = [\"0\", \"18446744073709551615\"]\n")
	checkLoads(t, dir, []loadCase[[]uint64]{
		{name: "default: none"},
		{name: "flag", args: []string{"-tokens", "30000,1"}, want: []uint64{30000, 1}},
		{name: "env", env: map[string]string{"MEMDB_TOKENS": "5"}, want: []uint64{5}},
		{name: "file", args: []string{"-config", file}, want: []uint64{0, 1<<64 - 1}},
		{name: "flag over file", args: []string{"-config", file, "-tokens", "9"}, want: []uint64{9}},
		{name: "twice", args: []string{"-tokens", "3,3"}, bad: true},
		{name: "negative", args: []string{"-tokens", "-1"}, bad: true},
		{name: "past the ring", args: []string{"-tokens", "18446744073709551616"}, bad: true},
	}, func(c Config) ([]uint64, error) { return c.TokenValues() })
}

// -resp (file key resp, MEMDB_RESP) is the Redis-protocol front door's
// address; off by default, and an empty flag turns off one the file set.
func TestRESPAddr(t *testing.T) {
	dir, file := configFile(t, "resp = \"127.0.0.1:7402\"\n")
	checkLoads(t, dir, []loadCase[string]{
		{name: "default: off"},
		{name: "flag", args: []string{"-resp", "127.0.0.1:6390"}, want: "127.0.0.1:6390"},
		{name: "env", env: map[string]string{"MEMDB_RESP": "127.0.0.1:6391"}, want: "127.0.0.1:6391"},
		{name: "file", args: []string{"-config", file}, want: "127.0.0.1:7402"},
		{name: "flag over env over file", args: []string{"-config", file, "-resp", ":6392"}, env: map[string]string{"MEMDB_RESP": "127.0.0.1:6391"}, want: ":6392"},
		{name: "empty flag disables the file's", args: []string{"-config", file, "-resp", ""}},
		{name: "not host:port", args: []string{"-resp", "6379"}, bad: true},
	}, func(c Config) (string, error) { return c.RESP, nil })
}

// TLS and the admin key come from flags, MEMDB_* variables and the [tls]
// and [auth] tables; a certificate needs its key, and the CAs need a
// certificate.
func TestTLSAndAdminKeyConfig(t *testing.T) {
	dir, file := configFile(t, "[tls]\ncert = \"/f/node.crt\"\nkey = \"/f/node.key\"\nclient_ca = \"/f/clients.crt\"\npeer_ca = \"/f/cluster.crt\"\n[auth]\nadmin_key = \"from-file\"\n")
	type tlsKeys struct{ Cert, Key, ClientCA, PeerCA, Admin string }
	checkLoads(t, dir, []loadCase[tlsKeys]{
		{name: "unset"},
		{name: "flags", args: []string{"-tls-cert", "a.crt", "-tls-key", "a.key", "-tls-client-ca", "c.crt", "-tls-peer-ca", "p.crt", "-admin-key", "s"},
			want: tlsKeys{"a.crt", "a.key", "c.crt", "p.crt", "s"}},
		{name: "env", env: map[string]string{"MEMDB_TLS_CERT": "e.crt", "MEMDB_TLS_KEY": "e.key", "MEMDB_TLS_CLIENT_CA": "ec.crt", "MEMDB_TLS_PEER_CA": "ep.crt", "MEMDB_ADMIN_KEY": "es"},
			want: tlsKeys{"e.crt", "e.key", "ec.crt", "ep.crt", "es"}},
		{name: "file", args: []string{"-config", file}, want: tlsKeys{"/f/node.crt", "/f/node.key", "/f/clients.crt", "/f/cluster.crt", "from-file"}},
		{name: "flag over env over file", args: []string{"-config", file, "-tls-peer-ca", "p.crt"}, env: map[string]string{"MEMDB_ADMIN_KEY": "es"},
			want: tlsKeys{"/f/node.crt", "/f/node.key", "/f/clients.crt", "p.crt", "es"}},
		{name: "cert without key", args: []string{"-tls-cert", "a.crt"}, bad: true},
		{name: "key without cert", args: []string{"-tls-key", "a.key"}, bad: true},
		{name: "client CA without cert", args: []string{"-tls-client-ca", "c.crt"}, bad: true},
		{name: "peer CA without cert", args: []string{"-tls-peer-ca", "p.crt"}, bad: true},
	}, func(c Config) (tlsKeys, error) {
		return tlsKeys{c.TLSCert, c.TLSKey, c.TLSClientCA, c.TLSPeerCA, c.AdminKey}, nil
	})
}

// Files that cannot be read, or hold no certificate, stop the start with a
// usage error naming the key.
func TestTLSBadFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	goodCert, goodKey := tlstest.NewCA(t, "CA").Issue(t, "node").Files(t, dir, "node")
	for _, tc := range []struct {
		name                string
		cert, key, clientCA string
		want                string
	}{
		{"missing cert", filepath.Join(dir, "none.crt"), junk, "", "tls.cert"},
		{"junk cert", junk, junk, "", "tls.cert"},
		{"junk client CA", goodCert, goodKey, junk, "tls.client_ca"},
		{"missing client CA", goodCert, goodKey, filepath.Join(dir, "none.crt"), "tls.client_ca"},
	} {
		cfg := DefaultConfig()
		cfg.Listen, cfg.HTTP, cfg.DataDir = "127.0.0.1:0", "", t.TempDir()
		cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA = tc.cert, tc.key, tc.clientCA
		s, err := Start(cfg, nil)
		if err == nil {
			s.Close()
			t.Errorf("%s: Start succeeded", tc.name)
			continue
		}
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Start = %v, want a usage error naming %s", tc.name, err, tc.want)
		}
	}
}

// -log-format and -log-level (file keys log.format and log.level,
// MEMDB_LOG_*) shape the log; a bad one is a usage error. The JSON logger
// writes JSON, and a level above info leaves info lines out.
func TestLogConfig(t *testing.T) {
	dir, file := configFile(t, "[log]\nformat = \"json\"\nlevel = \"warn\"\n")
	type logKeys struct{ Format, Level string }
	checkLoads(t, dir, []loadCase[logKeys]{
		{name: "defaults", want: logKeys{"text", "info"}},
		{name: "flags", args: []string{"-log-format", "json", "-log-level", "debug"}, want: logKeys{"json", "debug"}},
		{name: "env", env: map[string]string{"MEMDB_LOG_FORMAT": "json", "MEMDB_LOG_LEVEL": "error"}, want: logKeys{"json", "error"}},
		{name: "file", args: []string{"-config", file}, want: logKeys{"json", "warn"}},
		{name: "flag over file", args: []string{"-config", file, "-log-level", "info"}, want: logKeys{"json", "info"}},
		{name: "bad format", args: []string{"-log-format", "xml"}, bad: true},
		{name: "bad level", args: []string{"-log-level", "loud"}, bad: true},
	}, func(c Config) (logKeys, error) { return logKeys{c.LogFormat, c.LogLevel}, nil })

	var b strings.Builder
	cfg := DefaultConfig()
	cfg.LogFormat, cfg.LogLevel = "json", "warn"
	l := cfg.Logger(&b)
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	if got := b.String(); strings.Contains(got, "hidden") || !strings.HasPrefix(got, "{") || !strings.Contains(got, `"msg":"shown"`) {
		t.Errorf("a json logger at warn wrote %q", got)
	}
}

// -max-memory (file key max_memory, MEMDB_MAX_MEMORY) takes bytes or a
// size with a unit.
func TestMaxMemoryConfig(t *testing.T) {
	dir, file := configFile(t, "max_memory = \"2MiB\"\n")
	_, intFile := configFile(t, "max_memory = 4096\n")
	_, badFile := configFile(t, "max_memory = true\n")
	checkLoads(t, dir, []loadCase[int64]{
		{name: "default: none"},
		{name: "bytes", args: []string{"-max-memory", "1000"}, want: 1000},
		{name: "MiB", args: []string{"-max-memory", "512MiB"}, want: 512 << 20},
		{name: "GB", args: []string{"-max-memory", "2 GB"}, want: 2e9},
		{name: "env", env: map[string]string{"MEMDB_MAX_MEMORY": "1KiB"}, want: 1024},
		{name: "file string", args: []string{"-config", file}, want: 2 << 20},
		{name: "file number", args: []string{"-config", intFile}, want: 4096},
		{name: "file not a size", args: []string{"-config", badFile}, bad: true},
		{name: "unknown unit", args: []string{"-max-memory", "3 apples"}, bad: true},
		{name: "negative", args: []string{"-max-memory", "-5"}, bad: true},
		{name: "overflow", args: []string{"-max-memory", "9000000000TiB"}, bad: true},
		{name: "bad env", env: map[string]string{"MEMDB_MAX_MEMORY": "lots"}, bad: true},
	}, func(c Config) (int64, error) { return c.MaxMemory, nil })
}

// -gc-percent and -memory-limit (file keys gc.percent, gc.memory_limit;
// MEMDB_GC_PERCENT, MEMDB_MEMORY_LIMIT) set the Go collector.
func TestGCConfig(t *testing.T) {
	dir, file := configFile(t, "[gc]\npercent = 50\nmemory_limit = \"1GiB\"\n")
	_, offFile := configFile(t, "[gc]\npercent = -1\n")
	type gc struct {
		Percent int
		Limit   int64
	}
	checkLoads(t, dir, []loadCase[gc]{
		{name: "default: 15, no limit", want: gc{15, 0}},
		{name: "flags", args: []string{"-gc-percent", "200", "-memory-limit", "3GiB"}, want: gc{200, 3 << 30}},
		{name: "off with a limit", args: []string{"-gc-percent", "off", "-memory-limit", "512MiB"}, want: gc{-1, 512 << 20}},
		{name: "env", env: map[string]string{"MEMDB_GC_PERCENT": "75", "MEMDB_MEMORY_LIMIT": "2GiB"}, want: gc{75, 2 << 30}},
		{name: "file", args: []string{"-config", file}, want: gc{50, 1 << 30}},
		{name: "off without a limit", args: []string{"-gc-percent", "off"}, bad: true},
		{name: "off in a file without a limit", args: []string{"-config", offFile}, bad: true},
		{name: "zero", args: []string{"-gc-percent", "0"}, bad: true},
		{name: "not a number", args: []string{"-gc-percent", "lots"}, bad: true},
		{name: "bad limit", args: []string{"-memory-limit", "3 apples"}, bad: true},
	}, func(c Config) (gc, error) { return gc{c.GCPercent, c.MemoryLimit}, nil })
}

// -tombstone-grace (file key tombstone_grace, MEMDB_TOMBSTONE_GRACE): how
// long a tombstone stays at least; off keeps them all.
func TestTombstoneGraceConfig(t *testing.T) {
	dir, file := configFile(t, "tombstone_grace = \"90s\"\n")
	_, offFile := configFile(t, "tombstone_grace = \"off\"\n")
	_, badFile := configFile(t, "tombstone_grace = \"soon\"\n")
	checkLoads(t, dir, []loadCase[time.Duration]{
		{name: "default: 10m", want: 10 * time.Minute},
		{name: "flag", args: []string{"-tombstone-grace", "1h"}, want: time.Hour},
		{name: "off", args: []string{"-tombstone-grace", "off"}, want: -1},
		{name: "env", env: map[string]string{"MEMDB_TOMBSTONE_GRACE": "30s"}, want: 30 * time.Second},
		{name: "file", args: []string{"-config", file}, want: 90 * time.Second},
		{name: "off in a file", args: []string{"-config", offFile}, want: -1},
		{name: "flag over file", args: []string{"-config", file, "-tombstone-grace", "2m"}, want: 2 * time.Minute},
		{name: "bad in a file", args: []string{"-config", badFile}, bad: true},
		{name: "under a second", args: []string{"-tombstone-grace", "500ms"}, bad: true},
		{name: "negative", args: []string{"-tombstone-grace", "-5m"}, bad: true},
		{name: "not a duration", args: []string{"-tombstone-grace", "forever"}, bad: true},
		{name: "bad env", env: map[string]string{"MEMDB_TOMBSTONE_GRACE": "1 day"}, bad: true},
	}, func(c Config) (time.Duration, error) { return c.TombstoneGrace, nil })
}

// -batch-retention (file key batch_retention, MEMDB_BATCH_RETENTION): how
// long a batch's record and markers stay at least; off keeps them all.
func TestBatchRetentionConfig(t *testing.T) {
	dir, file := configFile(t, "batch_retention = \"12h\"\n")
	checkLoads(t, dir, []loadCase[time.Duration]{
		{name: "default: 6h, as node's", want: node.DefaultBatchRetention},
		{name: "flag", args: []string{"-batch-retention", "1h"}, want: time.Hour},
		{name: "off", args: []string{"-batch-retention", "off"}, want: -1},
		{name: "env", env: map[string]string{"MEMDB_BATCH_RETENTION": "30m"}, want: 30 * time.Minute},
		{name: "file", args: []string{"-config", file}, want: 12 * time.Hour},
		{name: "under a second", args: []string{"-batch-retention", "10ms"}, bad: true},
		{name: "not a duration", args: []string{"-batch-retention", "long"}, bad: true},
	}, func(c Config) (time.Duration, error) { return c.BatchRetention, nil })
}

// -anti-entropy (file key anti_entropy, MEMDB_ANTI_ENTROPY): how often a
// node compares its ranges with each replica's; off never.
func TestAntiEntropyConfig(t *testing.T) {
	dir, file := configFile(t, "anti_entropy = \"30s\"\n")
	checkLoads(t, dir, []loadCase[time.Duration]{
		{name: "default: 10s", want: 10 * time.Second},
		{name: "flag", args: []string{"-anti-entropy", "1m"}, want: time.Minute},
		{name: "off", args: []string{"-anti-entropy", "off"}, want: -1},
		{name: "env", env: map[string]string{"MEMDB_ANTI_ENTROPY": "OFF"}, want: -1},
		{name: "file", args: []string{"-config", file}, want: 30 * time.Second},
		{name: "under a second", args: []string{"-anti-entropy", "10ms"}, bad: true},
		{name: "not a duration", args: []string{"-anti-entropy", "often"}, bad: true},
	}, func(c Config) (time.Duration, error) { return c.AntiEntropy, nil })
}
