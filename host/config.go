package host

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	stdnet "net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/memdb/memdb/node/ring"
)

// DefaultConfigFile is read when -config is not given; its absence is fine.
const DefaultConfigFile = "/etc/memdb/memdb.toml"

// Config is memdbd's configuration. The CONTRACT.md table lists each
// field's flag, file key and default.
type Config struct {
	ID                uint16   // node id, 1..65535
	Listen            string   // binary protocol address (clients and peers)
	Advertise         string   // the address peers reach this node at; empty: the listen address
	HTTP              string   // admin REST API address; empty disables it
	RESP              string   // Redis-protocol (RESP2/3) front door address; empty disables it
	Seeds             []string // addresses of nodes to join through
	DataDir           string   // operation log and node state
	ReplicationFactor int      // replicas per key
	Fsync             string   // always, everysec or none
	ClientKey         string   // key every client must present
	ClusterKey        string   // key nodes present to each other
	OnCorrupt         string   // a corrupt log at boot: stop, or rebuild from the replicas
	Vnodes            int      // virtual tokens the node takes on the ring
	Tokens            []string // explicit places on the 64-bit ring, instead of Vnodes (decimal)
	// TLS (tls.go): the node's certificate and key (PEM files), served to
	// clients on the binary and RESP ports and to peers, and presented to
	// peers when dialing them; the CA whose certificates clients must
	// present; and the cluster CA, whose certificates peers must present
	// and which vouches for the peers this node dials. All empty: no TLS.
	TLSCert, TLSKey string
	TLSClientCA     string
	TLSPeerCA       string
	// AdminKey, when set, is required as "Authorization: Bearer KEY" by
	// every POST of the admin API (http.go); never logged.
	AdminKey string
	// LogFormat (text or json) and LogLevel (debug, info, warn, error) shape
	// memdbd's structured log (Logger).
	LogFormat, LogLevel string
	// MaxMemory, if positive, is the bytes of keys and values (the store's
	// count, /v1/status "bytes") past which the node refuses the writes it
	// coordinates that add data (set, cas, incr); 0: no bound. Nothing is
	// evicted.
	MaxMemory int64
	// GCPercent and MemoryLimit set the Go runtime's collector (GOGC and
	// GOMEMLIMIT, which they override): the heap may grow by GCPercent
	// percent of what the last collection left live before the next one
	// runs (-1: off, only MemoryLimit triggers collections), and past
	// MemoryLimit bytes (0: none) the collector runs as often as it must
	// to stay under it. An in-memory store's heap is mostly its data, so
	// GCPercent is what the process holds beyond the data: 100 lets it
	// reach twice the data; lower trades CPU for memory (PAPER §5.19).
	// The default, 15, holds 197 resident bytes per key of 100-byte values
	// (Redis: 208; 25 holds 213) for about 10% more CPU per write than
	// 100: the store's table and key list are pointer-free, so a
	// collection costs little.
	GCPercent   int
	MemoryLimit int64
	// TombstoneGrace is how long a deleted key's tombstone stays at least
	// before the node may drop it and give its memory back, once every
	// other replica was seen clean of older values (node/grave.go);
	// negative: keep every tombstone ("off").
	TombstoneGrace time.Duration
	// BatchRetention is how long a batch's record and aborted markers stay
	// at least before the node may collect them (node.Config's, where the
	// rule is); negative: keep them all ("off").
	BatchRetention time.Duration
	// AntiEntropy is how often, on average, the node compares its ranges
	// with each replica's and pulls what differs; negative: never ("off":
	// replicas then converge only through replication, hints, read repair
	// and catch-up, and tombstones of keys with other replicas are never
	// dropped, since the rule needs a comparison to see them clean).
	AntiEntropy time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		ID:                1,
		Listen:            "127.0.0.1:7400",
		HTTP:              "127.0.0.1:7401",
		DataDir:           "/var/lib/memdb",
		ReplicationFactor: 3,
		Fsync:             "always",
		OnCorrupt:         "stop",
		Vnodes:            ring.DefaultVnodes,
		LogFormat:         "text",
		LogLevel:          "info",
		GCPercent:         15,
		TombstoneGrace:    10 * time.Minute,
		BatchRetention:    6 * time.Hour, // node.DefaultBatchRetention
		AntiEntropy:       10 * time.Second,
	}
}

// Logger is the structured logger the configuration asks for, writing to w.
func (c Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[c.LogLevel]}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// parseGCPercent reads a gc percent: a positive integer, or "off" (-1).
func parseGCPercent(s string) (int, error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return -1, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a positive percentage or off", s)
	}
	return n, nil
}

// parseEvery reads a period of background work (-tombstone-grace,
// -batch-retention, -anti-entropy): a duration of at least a second ("90s", "10m", "1h"),
// or "off" (-1).
func parseEvery(s string) (time.Duration, error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return -1, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("%q is not a duration of at least 1s (such as 10m) or off", s)
	}
	return d, nil
}

// setEvery sets *dst to period s (parseEvery); an error names what, the
// flag, file key or variable s came from, and leaves *dst as it was.
func setEvery(dst *time.Duration, s, what string) error {
	d, err := parseEvery(s)
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	*dst = d
	return nil
}

// ParseBytes reads a size: a whole number of bytes, or one with a unit
// (KB, MB, GB, TB: powers of 1000; KiB, MiB, GiB, TiB: of 1024; B).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s)
	}
	mult := map[string]int64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
	m, ok := mult[strings.ToUpper(unit)]
	if !ok || n > math.MaxInt64/m {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s)
	}
	return n * m, nil
}

// Validate checks every field and reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	if c.ID == 0 {
		errs = append(errs, errors.New("id must be 1..65535, not 0"))
	}
	if _, _, err := stdnet.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q is not host:port", c.Listen))
	}
	if c.Advertise != "" {
		h, port, err := stdnet.SplitHostPort(c.Advertise)
		if ip := stdnet.ParseIP(h); err != nil || h == "" || port == "" || port == "0" || ip != nil && ip.IsUnspecified() {
			errs = append(errs, fmt.Errorf("advertise %q is not a host:port peers can dial (a named or specific host and a port)", c.Advertise))
		}
	}
	if c.HTTP != "" {
		if _, _, err := stdnet.SplitHostPort(c.HTTP); err != nil {
			errs = append(errs, fmt.Errorf("http %q is not host:port (or empty to disable)", c.HTTP))
		}
	}
	if c.RESP != "" {
		if _, _, err := stdnet.SplitHostPort(c.RESP); err != nil {
			errs = append(errs, fmt.Errorf("resp %q is not host:port (or empty to disable)", c.RESP))
		}
	}
	for _, s := range c.Seeds {
		if _, _, err := stdnet.SplitHostPort(s); err != nil {
			errs = append(errs, fmt.Errorf("seed %q is not host:port", s))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir must not be empty"))
	}
	if c.ReplicationFactor < 1 || c.ReplicationFactor > 16 {
		errs = append(errs, fmt.Errorf("replication_factor must be 1..16, not %d", c.ReplicationFactor))
	}
	switch c.Fsync {
	case "always", "everysec", "none":
	default:
		errs = append(errs, fmt.Errorf("fsync must be always, everysec or none, not %q", c.Fsync))
	}
	if c.Vnodes < 1 || c.Vnodes > ring.MaxTokens {
		errs = append(errs, fmt.Errorf("vnodes must be 1..%d, not %d", ring.MaxTokens, c.Vnodes))
	}
	if _, err := c.TokenValues(); err != nil {
		errs = append(errs, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls.cert and tls.key go together: give both (the node's certificate and its key) or neither"))
	}
	if c.TLSCert == "" && c.TLSClientCA != "" {
		errs = append(errs, errors.New("tls.client_ca needs tls.cert and tls.key: client certificates are checked only over TLS"))
	}
	if c.TLSCert == "" && c.TLSPeerCA != "" {
		errs = append(errs, errors.New("tls.peer_ca needs tls.cert and tls.key: the node presents its certificate to its peers"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log.format must be text or json, not %q", c.LogFormat))
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		errs = append(errs, fmt.Errorf("log.level must be debug, info, warn or error, not %q", c.LogLevel))
	}
	if c.MaxMemory < 0 {
		errs = append(errs, fmt.Errorf("max_memory must not be negative, not %d", c.MaxMemory))
	}
	if c.GCPercent < -1 || c.GCPercent == 0 {
		errs = append(errs, fmt.Errorf("gc.percent must be a positive percentage or -1 (off), not %d", c.GCPercent))
	}
	if c.MemoryLimit < 0 {
		errs = append(errs, fmt.Errorf("gc.memory_limit must not be negative, not %d", c.MemoryLimit))
	}
	if c.GCPercent == -1 && c.MemoryLimit == 0 {
		errs = append(errs, errors.New("gc.percent = -1 (off) needs gc.memory_limit: nothing would collect garbage"))
	}
	switch c.OnCorrupt {
	case "stop":
	case "rebuild":
		if len(c.Seeds) == 0 {
			errs = append(errs, errors.New("on_corrupt = rebuild needs seeds: a node rebuilds from the replicas it finds through them"))
		}
	default:
		errs = append(errs, fmt.Errorf("on_corrupt must be stop or rebuild, not %q", c.OnCorrupt))
	}
	return errors.Join(errs...)
}

// TokenValues parses Tokens: each a decimal place on the 64-bit ring, none
// twice, at most ring.MaxTokens.
func (c *Config) TokenValues() ([]uint64, error) {
	if len(c.Tokens) > ring.MaxTokens {
		return nil, fmt.Errorf("tokens: at most %d, not %d", ring.MaxTokens, len(c.Tokens))
	}
	var ts []uint64
	for _, s := range c.Tokens {
		t, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("token %q is not a place on the ring, 0..%d", s, uint64(1<<64-1))
		}
		if slices.Contains(ts, t) {
			return nil, fmt.Errorf("token %d is named twice", t)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// fileConfig mirrors the TOML file; pointers tell set keys from absent ones.
type fileConfig struct {
	ID                *int64    `toml:"id"`
	Listen            *string   `toml:"listen"`
	Advertise         *string   `toml:"advertise"`
	HTTP              *string   `toml:"http"`
	RESP              *string   `toml:"resp"`
	Seeds             *[]string `toml:"seeds"`
	DataDir           *string   `toml:"data_dir"`
	ReplicationFactor *int64    `toml:"replication_factor"`
	Fsync             *string   `toml:"fsync"`
	OnCorrupt         *string   `toml:"on_corrupt"`
	Vnodes            *int64    `toml:"vnodes"`
	Tokens            *[]string `toml:"tokens"`
	Auth              struct {
		ClientKey  *string `toml:"client_key"`
		ClusterKey *string `toml:"cluster_key"`
		AdminKey   *string `toml:"admin_key"`
	} `toml:"auth"`
	MaxMemory      *any    `toml:"max_memory"`
	TombstoneGrace *string `toml:"tombstone_grace"`
	BatchRetention *string `toml:"batch_retention"`
	AntiEntropy    *string `toml:"anti_entropy"`
	GC             struct {
		Percent     *int64 `toml:"percent"`
		MemoryLimit *any   `toml:"memory_limit"`
	} `toml:"gc"`
	Log struct {
		Format *string `toml:"format"`
		Level  *string `toml:"level"`
	} `toml:"log"`
	TLS struct {
		Cert     *string `toml:"cert"`
		Key      *string `toml:"key"`
		ClientCA *string `toml:"client_ca"`
		PeerCA   *string `toml:"peer_ca"`
	} `toml:"tls"`
}

// ErrUsage marks configuration errors: bad flags, an unreadable or invalid
// file, a bad value. memdbd exits 2 on them.
var ErrUsage = errors.New("usage")

// Load builds the configuration from args (without the program name), the
// environment (getenv) and the config file, with precedence flags >
// environment > file > defaults. ErrHelp is returned for -h. Every other
// error wraps ErrUsage and names what was wrong.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("memdbd", flag.ContinueOnError)
	fs.SetOutput(usage)
	configFile := fs.String("config", "", "TOML config file (default "+DefaultConfigFile+", which may be absent)")
	id := fs.Uint("id", uint(cfg.ID), "node id, 1..65535, unique in the cluster")
	listen := fs.String("listen", cfg.Listen, "binary protocol address (clients and peers)")
	advertise := fs.String("advertise", "", "address peers reach this node at, if not the listen address (e.g. listening on 0.0.0.0)")
	httpAddr := fs.String("http", cfg.HTTP, "admin REST API and metrics address; empty disables")
	respAddr := fs.String("resp", cfg.RESP, "Redis-protocol (RESP2/3) front door address, for redis-cli and Redis clients; empty (the default) disables")
	seeds := fs.String("seeds", "", "comma-separated addresses of nodes to join through")
	dataDir := fs.String("data", cfg.DataDir, "directory for the operation log and node state")
	rf := fs.Int("rf", cfg.ReplicationFactor, "replicas per key")
	fsync := fs.String("fsync", cfg.Fsync, "log sync mode: always (group commit), everysec or none")
	clientKey := fs.String("client-key", "", "key every client must present (env MEMDB_CLIENT_KEY)")
	clusterKey := fs.String("cluster-key", "", "key nodes present to each other (env MEMDB_CLUSTER_KEY)")
	tokens := fs.String("tokens", "", "comma-separated explicit places on the 64-bit ring (decimal), instead of -vnodes virtual ones, as the DHT seed's ring_id")
	vnodes := fs.Int("vnodes", cfg.Vnodes, "virtual tokens the node takes on the ring: more spreads keys more evenly, and a node with more takes more of them")
	tlsCert := fs.String("tls-cert", "", "the node's TLS certificate (PEM): clients (binary and RESP ports) and peers then talk TLS (env MEMDB_TLS_CERT)")
	tlsKey := fs.String("tls-key", "", "the key of -tls-cert (PEM) (env MEMDB_TLS_KEY)")
	tlsClientCA := fs.String("tls-client-ca", "", "require client certificates signed by this CA (PEM) (env MEMDB_TLS_CLIENT_CA)")
	tlsPeerCA := fs.String("tls-peer-ca", "", "the cluster CA (PEM): peers must present certificates it signed, and the nodes this one dials must too (env MEMDB_TLS_PEER_CA)")
	adminKey := fs.String("admin-key", "", "key the admin API's POST endpoints require as 'Authorization: Bearer KEY' (env MEMDB_ADMIN_KEY)")
	logFormat := fs.String("log-format", cfg.LogFormat, "log format: text or json")
	logLevel := fs.String("log-level", cfg.LogLevel, "log level: debug, info, warn or error")
	gcPercent := fs.String("gc-percent", "", "the Go collector's GOGC: the heap may grow this many percent past what the last collection left live (default 15); off: only -memory-limit collects (env MEMDB_GC_PERCENT)")
	memoryLimit := fs.String("memory-limit", "", "the Go runtime's soft memory limit (GOMEMLIMIT), e.g. 3GiB: past it the collector runs as often as it must (default: none) (env MEMDB_MEMORY_LIMIT)")
	batchRetention := fs.String("batch-retention", "", "how long a batch's record and aborted markers stay at least before the node collects them, once every replica of the batch's keys holds its outcome (default 6h); off keeps them all (env MEMDB_BATCH_RETENTION)")
	tombstoneGrace := fs.String("tombstone-grace", "", "how long a deleted key's tombstone stays at least before the node drops it and gives its memory back, once every replica was seen clean of older values (default 10m); off keeps every tombstone (env MEMDB_TOMBSTONE_GRACE)")
	antiEntropy := fs.String("anti-entropy", "", "how often, on average, the node compares its ranges with each replica's and pulls what differs (default 10s); off: never (then tombstones of keys with other replicas are never dropped) (env MEMDB_ANTI_ENTROPY)")
	maxMemory := fs.String("max-memory", "", "refuse the writes this node coordinates that add data past this many bytes of keys and values (e.g. 512MiB; default: no bound; nothing is evicted)")
	onCorrupt := fs.String("on-corrupt", cfg.OnCorrupt, "a corrupt operation log at boot: stop (exit with an error naming it), or rebuild (move the data directory aside and rebuild from the replicas; needs seeds)")
	fs.Usage = func() {
		fmt.Fprintf(usage, "usage: memdbd [-config FILE] [flags]\n\nRuns one memdb node. Precedence: flags > MEMDB_* environment > config file > defaults.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%w: unexpected argument %q (memdbd takes only flags)", ErrUsage, fs.Arg(0))
	}

	path, explicit := *configFile, *configFile != ""
	if !explicit {
		path = DefaultConfigFile
	}
	if err := loadFile(&cfg, path, explicit); err != nil {
		return cfg, err
	}
	if err := loadEnv(&cfg, getenv); err != nil {
		return cfg, err
	}

	var errs []error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "id":
			if *id > 65535 {
				errs = append(errs, fmt.Errorf("-id %d is out of range 1..65535", *id))
			}
			cfg.ID = uint16(*id)
		case "listen":
			cfg.Listen = *listen
		case "advertise":
			cfg.Advertise = *advertise
		case "http":
			cfg.HTTP = *httpAddr
		case "resp":
			cfg.RESP = *respAddr
		case "seeds":
			cfg.Seeds = splitList(*seeds)
		case "data":
			cfg.DataDir = *dataDir
		case "rf":
			cfg.ReplicationFactor = *rf
		case "fsync":
			cfg.Fsync = *fsync
		case "client-key":
			cfg.ClientKey = *clientKey
		case "cluster-key":
			cfg.ClusterKey = *clusterKey
		case "on-corrupt":
			cfg.OnCorrupt = *onCorrupt
		case "tls-cert":
			cfg.TLSCert = *tlsCert
		case "tls-key":
			cfg.TLSKey = *tlsKey
		case "tls-client-ca":
			cfg.TLSClientCA = *tlsClientCA
		case "tls-peer-ca":
			cfg.TLSPeerCA = *tlsPeerCA
		case "admin-key":
			cfg.AdminKey = *adminKey
		case "log-format":
			cfg.LogFormat = *logFormat
		case "log-level":
			cfg.LogLevel = *logLevel
		case "gc-percent":
			n, err := parseGCPercent(*gcPercent)
			if err != nil {
				errs = append(errs, fmt.Errorf("-gc-percent: %v", err))
			}
			cfg.GCPercent = n
		case "memory-limit":
			n, err := ParseBytes(*memoryLimit)
			if err != nil {
				errs = append(errs, fmt.Errorf("-memory-limit: %v", err))
			}
			cfg.MemoryLimit = n
		case "tombstone-grace":
			errs = append(errs, setEvery(&cfg.TombstoneGrace, *tombstoneGrace, "-tombstone-grace"))
		case "batch-retention":
			errs = append(errs, setEvery(&cfg.BatchRetention, *batchRetention, "-batch-retention"))
		case "anti-entropy":
			errs = append(errs, setEvery(&cfg.AntiEntropy, *antiEntropy, "-anti-entropy"))
		case "max-memory":
			n, err := ParseBytes(*maxMemory)
			if err != nil {
				errs = append(errs, fmt.Errorf("-max-memory: %v", err))
			}
			cfg.MaxMemory = n
		case "vnodes":
			cfg.Vnodes = *vnodes
		case "tokens":
			cfg.Tokens = splitList(*tokens)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%w: invalid configuration: %v", ErrUsage, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return cfg, nil
}

func loadFile(cfg *Config, path string, explicit bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%w: read config file: %v", ErrUsage, err)
	}
	var fc fileConfig
	md, err := toml.Decode(string(data), &fc)
	if err != nil {
		return fmt.Errorf("%w: config file %s: %v", ErrUsage, path, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
		}
		return fmt.Errorf("%w: config file %s: unknown key %s", ErrUsage, path, strings.Join(keys, ", "))
	}
	if fc.ID != nil {
		if *fc.ID < 1 || *fc.ID > 65535 {
			return fmt.Errorf("%w: config file %s: id %d is out of range 1..65535", ErrUsage, path, *fc.ID)
		}
		cfg.ID = uint16(*fc.ID)
	}
	setString(&cfg.Listen, fc.Listen)
	setString(&cfg.Advertise, fc.Advertise)
	setString(&cfg.HTTP, fc.HTTP)
	setString(&cfg.RESP, fc.RESP)
	if fc.Seeds != nil {
		cfg.Seeds = *fc.Seeds
	}
	setString(&cfg.DataDir, fc.DataDir)
	if fc.ReplicationFactor != nil {
		cfg.ReplicationFactor = int(*fc.ReplicationFactor)
	}
	setString(&cfg.Fsync, fc.Fsync)
	setString(&cfg.OnCorrupt, fc.OnCorrupt)
	if fc.Vnodes != nil {
		cfg.Vnodes = int(*fc.Vnodes)
	}
	if fc.Tokens != nil {
		cfg.Tokens = *fc.Tokens
	}
	setString(&cfg.ClientKey, fc.Auth.ClientKey)
	setString(&cfg.ClusterKey, fc.Auth.ClusterKey)
	setString(&cfg.AdminKey, fc.Auth.AdminKey)
	setString(&cfg.TLSCert, fc.TLS.Cert)
	setString(&cfg.TLSKey, fc.TLS.Key)
	setString(&cfg.TLSClientCA, fc.TLS.ClientCA)
	setString(&cfg.TLSPeerCA, fc.TLS.PeerCA)
	setString(&cfg.LogFormat, fc.Log.Format)
	setString(&cfg.LogLevel, fc.Log.Level)
	if fc.MaxMemory != nil {
		switch v := (*fc.MaxMemory).(type) {
		case int64:
			cfg.MaxMemory = v
		case string:
			n, err := ParseBytes(v)
			if err != nil {
				return fmt.Errorf("%w: config file %s: max_memory: %v", ErrUsage, path, err)
			}
			cfg.MaxMemory = n
		default:
			return fmt.Errorf("%w: config file %s: max_memory must be a number of bytes or a string such as \"512MiB\", not %v", ErrUsage, path, v)
		}
	}
	for _, p := range []struct {
		key string
		v   *string
		dst *time.Duration
	}{{"tombstone_grace", fc.TombstoneGrace, &cfg.TombstoneGrace}, {"batch_retention", fc.BatchRetention, &cfg.BatchRetention}, {"anti_entropy", fc.AntiEntropy, &cfg.AntiEntropy}} {
		if p.v == nil {
			continue
		}
		if err := setEvery(p.dst, *p.v, p.key); err != nil {
			return fmt.Errorf("%w: config file %s: %v", ErrUsage, path, err)
		}
	}
	if fc.GC.Percent != nil {
		cfg.GCPercent = int(*fc.GC.Percent)
	}
	if fc.GC.MemoryLimit != nil {
		switch v := (*fc.GC.MemoryLimit).(type) {
		case int64:
			cfg.MemoryLimit = v
		case string:
			n, err := ParseBytes(v)
			if err != nil {
				return fmt.Errorf("%w: config file %s: gc.memory_limit: %v", ErrUsage, path, err)
			}
			cfg.MemoryLimit = n
		default:
			return fmt.Errorf("%w: config file %s: gc.memory_limit must be a number of bytes or a string such as \"3GiB\", not %v", ErrUsage, path, v)
		}
	}
	return nil
}

func setString(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

// loadEnv applies MEMDB_<KEY> variables, named after the file keys. An
// empty variable counts as unset.
func loadEnv(cfg *Config, getenv func(string) string) error {
	var errs []error
	if v := getenv("MEMDB_ID"); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			errs = append(errs, fmt.Errorf("MEMDB_ID=%q is not a node id 1..65535", v))
		}
		cfg.ID = uint16(n)
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"MEMDB_LISTEN", &cfg.Listen}, {"MEMDB_ADVERTISE", &cfg.Advertise}, {"MEMDB_HTTP", &cfg.HTTP}, {"MEMDB_RESP", &cfg.RESP}, {"MEMDB_DATA_DIR", &cfg.DataDir},
		{"MEMDB_FSYNC", &cfg.Fsync}, {"MEMDB_ON_CORRUPT", &cfg.OnCorrupt}, {"MEMDB_CLIENT_KEY", &cfg.ClientKey}, {"MEMDB_CLUSTER_KEY", &cfg.ClusterKey},
		{"MEMDB_ADMIN_KEY", &cfg.AdminKey}, {"MEMDB_TLS_CERT", &cfg.TLSCert}, {"MEMDB_TLS_KEY", &cfg.TLSKey},
		{"MEMDB_TLS_CLIENT_CA", &cfg.TLSClientCA}, {"MEMDB_TLS_PEER_CA", &cfg.TLSPeerCA},
		{"MEMDB_LOG_FORMAT", &cfg.LogFormat}, {"MEMDB_LOG_LEVEL", &cfg.LogLevel},
	} {
		if v := getenv(s.name); v != "" {
			*s.dst = v
		}
	}
	if v := getenv("MEMDB_SEEDS"); v != "" {
		cfg.Seeds = splitList(v)
	}
	if v := getenv("MEMDB_REPLICATION_FACTOR"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MEMDB_REPLICATION_FACTOR=%q is not a number", v))
		}
		cfg.ReplicationFactor = n
	}
	if v := getenv("MEMDB_GC_PERCENT"); v != "" {
		n, err := parseGCPercent(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MEMDB_GC_PERCENT: %v", err))
		}
		cfg.GCPercent = n
	}
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"MEMDB_TOMBSTONE_GRACE", &cfg.TombstoneGrace}, {"MEMDB_BATCH_RETENTION", &cfg.BatchRetention}, {"MEMDB_ANTI_ENTROPY", &cfg.AntiEntropy}} {
		if v := getenv(p.name); v != "" {
			errs = append(errs, setEvery(p.dst, v, p.name))
		}
	}
	if v := getenv("MEMDB_MEMORY_LIMIT"); v != "" {
		n, err := ParseBytes(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MEMDB_MEMORY_LIMIT: %v", err))
		}
		cfg.MemoryLimit = n
	}
	if v := getenv("MEMDB_MAX_MEMORY"); v != "" {
		n, err := ParseBytes(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MEMDB_MAX_MEMORY: %v", err))
		}
		cfg.MaxMemory = n
	}
	if v := getenv("MEMDB_TOKENS"); v != "" {
		cfg.Tokens = splitList(v)
	}
	if v := getenv("MEMDB_VNODES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MEMDB_VNODES=%q is not a number", v))
		}
		cfg.Vnodes = n
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
