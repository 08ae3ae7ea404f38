package kv

// Caps of a Config that sets none.
const (
	DefaultMaxBuckets = 1000
	DefaultMaxKeys    = 10_000
)

// The kv application's environment keys for Config (ints).
const (
	EnvMaxBuckets = "max_buckets"
	EnvMaxKeys    = "max_keys"
)

// Config bounds what a kv registry holds. A zero field takes its default.
type Config struct {
	// MaxBuckets is how many buckets may exist at once; Create of one more
	// returns ErrTooManyBuckets until one is dropped or exits.
	MaxBuckets int
	// MaxKeys is how many keys a bucket created by the registry may hold;
	// Put of one more returns ErrBucketFull until one is deleted.
	MaxKeys int
}

func (c Config) withDefaults() Config {
	if c.MaxBuckets <= 0 {
		c.MaxBuckets = DefaultMaxBuckets
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	return c
}
