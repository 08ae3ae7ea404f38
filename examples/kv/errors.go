package kv

import "errors"

// Errors of the kv registry and buckets.
var (
	// ErrTooManyBuckets is returned by Registry.Create when the registry
	// already holds its Config.MaxBuckets buckets.
	ErrTooManyBuckets = errors.New("kv: too many buckets")
	// ErrBucketFull is returned by Bucket.Put of a new key when the bucket
	// already holds its most keys.
	ErrBucketFull = errors.New("kv: bucket full")
)
