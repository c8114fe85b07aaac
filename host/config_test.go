package host

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// -advertise (file key advertise, MEMDB_ADVERTISE) names the address peers
// dial; it must be one they can: a host (not 0.0.0.0 or ::) and a port.
func TestAdvertise(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "memdb.toml")
	if err := os.WriteFile(file, []byte("advertise = \"db1.example:7400\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // "" means a usage error
	}{
		{"unset", nil, nil, ""},
		{"flag", []string{"-listen", "0.0.0.0:7400", "-advertise", "10.0.0.5:7400"}, nil, "10.0.0.5:7400"},
		{"env", nil, map[string]string{"MEMDB_ADVERTISE": "db2.example:7400"}, "db2.example:7400"},
		{"file", []string{"-config", file}, nil, "db1.example:7400"},
		{"flag over env over file", []string{"-config", file, "-advertise", "[fd00::1]:7400"}, map[string]string{"MEMDB_ADVERTISE": "db2.example:7400"}, "[fd00::1]:7400"},
		{"unspecified host", []string{"-advertise", "0.0.0.0:7400"}, nil, "error"},
		{"unspecified v6", []string{"-advertise", "[::]:7400"}, nil, "error"},
		{"no host", []string{"-advertise", ":7400"}, nil, "error"},
		{"no port", []string{"-advertise", "db1.example"}, nil, "error"},
		{"port 0", []string{"-advertise", "db1.example:0"}, nil, "error"},
	}
	for _, tc := range tests {
		cfg, err := Load(append(tc.args, "-data", dir), env(tc.env), io.Discard)
		switch {
		case tc.want == "error":
			if !errors.Is(err, ErrUsage) {
				t.Errorf("%s: Load = %v, want a usage error", tc.name, err)
			}
		case err != nil:
			t.Errorf("%s: Load: %v", tc.name, err)
		case cfg.Advertise != tc.want:
			t.Errorf("%s: advertise %q, want %q", tc.name, cfg.Advertise, tc.want)
		}
	}
}

// -on-corrupt (file key on_corrupt, MEMDB_ON_CORRUPT) is stop by default;
// rebuild needs seeds, since the node rebuilds from the replicas it finds
// through them.
func TestOnCorrupt(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "memdb.toml")
	if err := os.WriteFile(file, []byte("on_corrupt = \"rebuild\"\nseeds = [\"127.0.0.1:7500\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	seeds := []string{"-seeds", "127.0.0.1:7500"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // "error" means a usage error
	}{
		{"default", nil, nil, "stop"},
		{"flag", append([]string{"-on-corrupt", "rebuild"}, seeds...), nil, "rebuild"},
		{"env", seeds, map[string]string{"MEMDB_ON_CORRUPT": "rebuild"}, "rebuild"},
		{"file", []string{"-config", file}, nil, "rebuild"},
		{"flag over file", []string{"-config", file, "-on-corrupt", "stop"}, nil, "stop"},
		{"rebuild without seeds", []string{"-on-corrupt", "rebuild"}, nil, "error"},
		{"unknown policy", []string{"-on-corrupt", "ignore"}, nil, "error"},
	}
	for _, tc := range tests {
		cfg, err := Load(append(tc.args, "-data", dir), env(tc.env), io.Discard)
		switch {
		case tc.want == "error":
			if !errors.Is(err, ErrUsage) {
				t.Errorf("%s: Load = %v, want a usage error", tc.name, err)
			}
		case err != nil:
			t.Errorf("%s: Load: %v", tc.name, err)
		case cfg.OnCorrupt != tc.want:
			t.Errorf("%s: on_corrupt %q, want %q", tc.name, cfg.OnCorrupt, tc.want)
		}
	}
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
	dir := t.TempDir()
	file := filepath.Join(dir, "memdb.toml")
	if err := os.WriteFile(file, []byte("vnodes = 64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int // 0: a usage error
	}{
		{"default", nil, nil, DefaultConfig().Vnodes},
		{"flag", []string{"-vnodes", "16"}, nil, 16},
		{"env", nil, map[string]string{"MEMDB_VNODES": "32"}, 32},
		{"file", []string{"-config", file}, nil, 64},
		{"flag over env over file", []string{"-config", file, "-vnodes", "8"}, map[string]string{"MEMDB_VNODES": "32"}, 8},
		{"zero", []string{"-vnodes", "0"}, nil, 0},
		{"too many", []string{"-vnodes", "1000000"}, nil, 0},
		{"not a number", nil, map[string]string{"MEMDB_VNODES": "many"}, 0},
	}
	for _, tc := range tests {
		cfg, err := Load(append(tc.args, "-data", dir), env(tc.env), io.Discard)
		switch {
		case tc.want == 0:
			if !errors.Is(err, ErrUsage) {
				t.Errorf("%s: Load = %v, want a usage error", tc.name, err)
			}
		case err != nil:
			t.Errorf("%s: Load: %v", tc.name, err)
		case cfg.Vnodes != tc.want:
			t.Errorf("%s: vnodes %d, want %d", tc.name, cfg.Vnodes, tc.want)
		}
	}
}

// -tokens (file key tokens, MEMDB_TOKENS) lists explicit places on the
// 64-bit ring: decimal, none twice.
func TestTokens(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "memdb.toml")
	if err := os.WriteFile(file, []byte("tokens = [\"0\", \"18446744073709551615\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []uint64 // nil: a usage error
	}{
		{"default: none", nil, nil, []uint64{}},
		{"flag", []string{"-tokens", "30000,1"}, nil, []uint64{30000, 1}},
		{"env", nil, map[string]string{"MEMDB_TOKENS": "5"}, []uint64{5}},
		{"file", []string{"-config", file}, nil, []uint64{0, 1<<64 - 1}},
		{"flag over file", []string{"-config", file, "-tokens", "9"}, nil, []uint64{9}},
		{"twice", []string{"-tokens", "3,3"}, nil, nil},
		{"negative", []string{"-tokens", "-1"}, nil, nil},
		{"past the ring", []string{"-tokens", "18446744073709551616"}, nil, nil},
	}
	for _, tc := range tests {
		cfg, err := Load(append(tc.args, "-data", dir), env(tc.env), io.Discard)
		if tc.want == nil {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("%s: Load = %v, want a usage error", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Load: %v", tc.name, err)
			continue
		}
		got, err := cfg.TokenValues()
		if err != nil || len(got) != len(tc.want) || len(got) > 0 && !slices.Equal(got, tc.want) {
			t.Errorf("%s: tokens %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
