//go:build !mutants

package node

const mutantsBuilt = false
