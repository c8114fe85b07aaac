//go:build mutants

package node

const mutantsBuilt = true
