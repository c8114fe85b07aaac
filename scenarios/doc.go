// Package scenarios is the catalogue of simulated workloads × fault
// schedules × checkers, shared by `go test ./scenarios` and memdb-sim.
//
// A Scenario has a name, a one-line description and a Swarm: the shape of
// the world it fixes and the fault kinds it may inject. Each seed draws its
// own parameters and schedule from the shape (sim.Swarm.Draw), and Run runs
// and judges it.
//
// Counters: the counter scenario's clients only increment counters (by
// ±5^i, retried with their operation id) and read them, each operation at
// a level of its own, under the cluster's faults; churn and chaos mix
// counters into their register workload, under every fault kind, at the
// seed's write and read levels. Counter keys (c0, c1, ...) are never
// written as registers. The exact-counting checker (sim/counter_check.go)
// decodes every observed value and every replica's final state. The other
// scenarios draw no counter parameters, so their runs are what they were.
//
// read-race (issue 19) is cas-race's counterpart for plain reads: three
// nodes, rf 3, quorum reads and writes of one key over uneven, lossy
// links, where a write or a read repair often reaches one replica alone —
// the window in which a quorum read that answers before its repairs are
// acknowledged is followed by one that misses what it returned (the
// monotonic reads checker, sim/guarantees.go).
//
//	go test ./scenarios                  the CI set (fixed seeds, well under a minute)
//	go test ./scenarios -seed=N          every scenario at seed N
//	go test ./scenarios -seed=N -seeds=K every scenario at seeds N..N+K-1
//	go run ./cmd/memdb-sim run -scenario NAME -seed N   the same run, with a trace
package scenarios
