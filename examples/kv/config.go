package kv

// DefaultMaxBuckets is the bucket cap of a Config that sets none.
const DefaultMaxBuckets = 1000

// EnvMaxBuckets is the kv application's environment key for
// Config.MaxBuckets (an int).
const EnvMaxBuckets = "max_buckets"

// Config bounds what a kv registry holds. A zero field takes its default.
type Config struct {
	// MaxBuckets is how many buckets may exist at once; Create of one more
	// returns ErrTooManyBuckets until one is dropped or exits.
	MaxBuckets int
}

func (c Config) withDefaults() Config {
	if c.MaxBuckets <= 0 {
		c.MaxBuckets = DefaultMaxBuckets
	}
	return c
}
