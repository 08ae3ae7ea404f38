// Package kv is the key-value store of Elixir's getting-started chapter on
// supervisors and applications, built on Arbor.
//
// A Bucket is a GenServer holding string values by string keys. The
// Registry maps bucket names to buckets: Create starts a bucket under the
// bucket supervisor (a DynamicSupervisor of Temporary buckets), the
// registry monitors it, and when the bucket's process exits — stopped or
// crashed — the registry forgets the name; Drop stops a bucket and forgets
// it. Both events are announced on an EventManager[Event] ({create, name,
// pid} and {exit, name, pid}).
//
// The top supervisor, one_for_one, starts the event manager, the bucket
// supervisor and the registry in that order, each under a registered name
// (EventsName, BucketsName, RegistryName). The kv application (Spec) starts
// that tree:
//
//	c, _ := application.NewController(node)
//	_ = c.Load(ctx, kv.Spec())
//	_, _ = c.EnsureAllStarted(ctx, kv.Name, application.Permanent)
//	reg, _ := kv.FindRegistry(node)
//	shopping, _ := reg.Create(ctx, "shopping")
//	_ = shopping.Put(ctx, "milk", "3")
//
// # Guarantees
//
//   - A bucket that exits is never restarted and is removed from the
//     registry before the registry handles its next request after the
//     bucket's Down; Lookup may still return it in between, and calls to
//     it then fail with actor.NoProc.
//   - The registry's crash does not stop the bucket supervisor or its
//     buckets; the restarted registry starts with no names, so the old
//     buckets are unreachable by name (they run until the tree stops).
//   - Events reach the handlers in the order the registry saw them. The
//     registry notifies without waiting (gen_event's notify, not
//     sync_notify): Create and Drop return before the handlers have seen
//     their event, and a slow handler delays only the event manager — its
//     queue grows, the registry and its callers go on.
//   - The registry holds at most Config.MaxBuckets buckets
//     (DefaultMaxBuckets; the application's env key EnvMaxBuckets): Create
//     of one more returns ErrTooManyBuckets. Drop stops a bucket and frees
//     its name and its place at once. A bucket holds at most
//     Config.MaxKeys keys (DefaultMaxKeys; EnvMaxKeys): Put of one more
//     returns ErrBucketFull. Keys and values themselves are not bounded
//     here (the kvserver bounds its request lines).
package kv
