module github.com/memdb/memdb

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/anishathalye/porcupine v1.3.1
	github.com/cockroachdb/datadriven v1.0.3
	github.com/dgryski/go-farm v0.0.0-20240924180020-3414d57e47da
	github.com/google/go-cmp v0.7.0
	github.com/klauspost/compress v1.18.0
	github.com/redis/go-redis/v9 v9.23.0
	golang.org/x/term v0.47.0
	pgregory.net/rapid v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
