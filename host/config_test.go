package host

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
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
