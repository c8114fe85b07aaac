package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memdb/memdb/net"
	"github.com/memdb/memdb/node"
	"github.com/memdb/memdb/node/ring"
)

// A member that dies for good is removed by an operator through another
// node: the members that gain its ranges take them from the remaining
// owners while clients go on writing, no acknowledged write is lost, and
// every replica of every key converges.
// When the heal restarts it, it finds itself removed and stops serving.
func TestRemoveDeadMember(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		sw := Swarm{Nodes: 5, MaxNodes: 5, MaxClients: 6, MaxKeys: 6, Duration: 36 * time.Second, Liveness: 15 * time.Second}
		p, _ := sw.Draw(seed)
		p.RF = 3
		p.Client.WriteLevel, p.Client.ReadLevel = net.Quorum, net.Quorum
		// Many keys, most written before the removal and not after, and no
		// anti-entropy: only the removal's Take brings a member that gains
		// a key what the dead one held (without Take, 11 of these 12 seeds
		// fail convergence). No loss, so that nothing else leaves replicas
		// apart without anti-entropy.
		p.Keys, p.Net.Loss = 2000, 0
		p.Faults = []Fault{{At: 14 * time.Second, Kind: Crash, Node: 3, For: time.Hour}}
		var logs strings.Builder
		res, removed, err := runRemoving(p, Options{Log: &logs}, 16*time.Second, func(cfg *node.Config) { cfg.AntiEntropy = -1 }, 3)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass || removed[3] != nil {
			t.Errorf("seed %d: %s: %s; removal: %v", seed, res.Verdict, res.Reason, removed[3])
		}
		if !strings.Contains(logs.String(), "removed a member") || !strings.Contains(logs.String(), "this node was removed from the ring") {
			t.Errorf("seed %d: node 3 was not removed, or did not find out when it came back", seed)
		}
	}
}

// Two members dead for good are removed through one node, one after the
// other: its ring confirmations skip both (through two nodes, each removal
// would wait on the other's member for good).
func TestRemoveTwoDeadMembers(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		sw := Swarm{Nodes: 6, MaxNodes: 6, MaxClients: 6, MaxKeys: 6, Duration: 60 * time.Second, Liveness: 15 * time.Second}
		p, _ := sw.Draw(seed)
		p.RF = 3
		p.Client.WriteLevel, p.Client.ReadLevel = net.Quorum, net.Quorum
		p.Faults = []Fault{
			{At: 18 * time.Second, Kind: Crash, Node: 3, For: time.Hour},
			{At: 18 * time.Second, Kind: Crash, Node: 4, For: time.Hour},
		}
		res, removed, err := runRemoving(p, Options{}, 20*time.Second, nil, 3, 4)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass || removed[3] != nil || removed[4] != nil {
			t.Errorf("seed %d: %s: %s; removals: %v", seed, res.Verdict, res.Reason, removed)
		}
	}
}

// A cluster whose nodes take explicit tokens (as the DHT seed's ring_id)
// forms, serves and converges under a crash like one with virtual tokens.
func TestExplicitTokens(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		sw := Swarm{Nodes: 4, MaxNodes: 4, MaxClients: 6, MaxKeys: 6, Duration: 20 * time.Second, Liveness: 15 * time.Second}
		p, _ := sw.Draw(seed)
		p.RF = 3
		p.Client.WriteLevel, p.Client.ReadLevel = net.Quorum, net.Quorum
		p.Faults = []Fault{{At: 14 * time.Second, Kind: Crash, Node: 2, For: time.Second}}
		tokens := func(id uint16) []uint64 { // a quarter of the ring each, one more place for node 4
			ts := []uint64{uint64(id-1) << 62}
			if id == 4 {
				ts = append(ts, 1<<61)
			}
			return ts
		}
		var first *node.Node
		res, err := Run(p, Options{NewProcess: func(cfg node.Config, env node.Env) (Process, error) {
			cfg.Tokens = tokens(uint16(cfg.ID))
			n, err := node.New(cfg, env)
			if cfg.ID == 1 {
				first = n
			}
			return n, err
		}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Pass {
			t.Errorf("seed %d: %s: %s", seed, res.Verdict, res.Reason)
		}
		// Node 1's ring places every key where the tokens say.
		var ms []ring.Member
		for id := uint16(1); id <= 4; id++ {
			ms = append(ms, ring.Member{ID: id, Tokens: tokens(id)})
		}
		want, err := ring.New(1, ms)
		if err != nil {
			t.Fatal(err)
		}
		for k := range p.Keys {
			key := []byte(fmt.Sprintf("k%d", k))
			if got, w := first.Replicas(key), want.Replicas(key, 3); !slices.Equal(got, w) {
				t.Errorf("seed %d: replicas of %s are %v, the tokens say %v", seed, key, got, w)
			}
		}
	}
}

// runRemoving runs p, with tune (if any) applied to every node's config,
// and has an operator ask node 1 at time at to remove each of ids — again
// each second while one is refused as still alive. It returns the run and
// each removal's last answer.
func runRemoving(p Params, o Options, at time.Duration, tune func(*node.Config), ids ...uint16) (Result, map[uint16]error, error) {
	removed := map[uint16]error{}
	for _, id := range ids {
		removed[id] = errors.New("never answered")
	}
	asked := false
	o.NewProcess = func(cfg node.Config, env node.Env) (Process, error) {
		if tune != nil {
			tune(&cfg)
		}
		n, err := node.New(cfg, env)
		if wait := at - env.Clock.Now().Sub(Epoch); err == nil && cfg.ID == 1 && wait > 0 && !asked {
			asked = true
			for _, id := range ids {
				var try func()
				try = func() {
					n.Remove(id, func(err error) {
						removed[id] = err
						if err != nil && strings.Contains(err.Error(), "is alive") {
							env.Clock.AfterFunc(time.Second, try)
						}
					})
				}
				env.Clock.AfterFunc(wait, try)
			}
		}
		return n, err
	}
	res, err := Run(p, o)
	return res, removed, err
}
