package host

import (
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// deployTOML is the commented configuration file deploy/ ships.
const deployTOML = "../deploy/memdb.toml"

// The shipped memdb.toml sets every key memdbd knows, each to its default,
// and nothing else: Load takes it, the configuration it gives is the
// defaults, and its keys are exactly fileConfig's.
func TestDeployTOML(t *testing.T) {
	cfg, err := Load([]string{"-config", deployTOML}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("Load(-config %s): %v", deployTOML, err)
	}
	if diff := cmp.Diff(DefaultConfig(), cfg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s does not set the defaults (-want +got):\n%s", deployTOML, diff)
	}

	data, err := os.ReadFile(deployTOML)
	if err != nil {
		t.Fatal(err)
	}
	var fc fileConfig
	md, err := toml.Decode(string(data), &fc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range md.Keys() {
		if md.Type(k...) != "Hash" {
			got = append(got, k.String())
		}
	}
	want := tomlKeys(reflect.TypeFor[fileConfig](), "")
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s's keys differ from the keys memdbd knows (-known +in the file):\n%s", deployTOML, diff)
	}
}

// tomlKeys lists the dotted keys of a file-configuration struct, tables
// (struct fields) flattened.
func tomlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, tomlKeys(f.Type, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}
