package kv

import "errors"

// Errors of the kv registry.
var (
	// ErrTooManyBuckets is returned by Registry.Create when the registry
	// already holds its Config.MaxBuckets buckets.
	ErrTooManyBuckets = errors.New("kv: too many buckets")
)
