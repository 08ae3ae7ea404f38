package kv

import (
	"context"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
)

// Registered names of the kv processes on their node.
const (
	SupervisorName = "kv.supervisor"
	EventsName     = "kv.events"
	BucketsName    = "kv.buckets"
	RegistryName   = "kv.registry"
)

// BucketTemplate is the child spec of the bucket supervisor (the seed's
// KV.Bucket.Supervisor, simple_one_for_one): every child is a bucket of at
// most DefaultMaxKeys keys, and buckets are Temporary — a bucket that
// exits is never restarted, the registry forgets it instead.
var BucketTemplate = bucketTemplate(Config{})

// StartBucketSupervisor starts a bucket supervisor from sp. Options of
// supervision.StartDynamic apply (WithName, WithMaxChildren...).
func StartBucketSupervisor(sp actor.Spawner, opts ...supervision.Option) (supervision.DynamicSupervisor[struct{}], error) {
	return supervision.StartDynamic(sp, BucketTemplate, opts...)
}

// StartBucketIn starts a bucket under the bucket supervisor buckets (the
// seed's KV.Bucket.Supervisor.start_bucket).
func StartBucketIn(ctx context.Context, buckets supervision.DynamicSupervisor[struct{}]) (Bucket, error) {
	pid, err := buckets.StartChild(ctx, struct{}{})
	return Bucket{pid: pid}, err
}

// Children returns the children of the kv top supervisor, in start order:
// the event manager, the bucket supervisor, then the registry, which finds
// the other two by name and so must start after them.
// The registry holds at most cfg.MaxBuckets buckets of at most
// cfg.MaxKeys keys each.
func Children(cfg Config) []supervision.ChildSpec {
	return []supervision.ChildSpec{
		{
			ID: "event_manager",
			Start: func(ctx *actor.Context) (actor.PID, error) {
				m, err := behaviour.StartEventManagerLink[Event](ctx, behaviour.WithName(EventsName))
				return m.PID(), err
			},
		},
		supervision.DynamicSpec("bucket_supervisor", bucketTemplate(cfg), supervision.WithName(BucketsName)),
		{ID: "registry", Start: func(ctx *actor.Context) (actor.PID, error) { return startRegistryLink(ctx, cfg) }},
	}
}

// StartSupervisor starts the kv tree from sp (the seed's KV.Supervisor):
// one_for_one, so a crashed registry is restarted alone while the bucket
// supervisor and its buckets keep running. The restarted registry starts
// empty: the buckets of the crashed one keep running but have no name any
// more (the trade-off the seed's chapter discusses; one_for_all would stop
// them instead).
func StartSupervisor(sp actor.Spawner, cfg Config, opts ...supervision.Option) (actor.PID, error) {
	return supervision.Start(sp, Children(cfg), supervisorOpts(opts)...)
}

// StartSupervisorLink is StartSupervisor linked to ctx, its parent: the
// kv application's master.
func StartSupervisorLink(ctx *actor.Context, cfg Config, opts ...supervision.Option) (actor.PID, error) {
	return supervision.StartLink(ctx, Children(cfg), supervisorOpts(opts)...)
}

func supervisorOpts(opts []supervision.Option) []supervision.Option {
	return append([]supervision.Option{
		supervision.WithStrategy(supervision.OneForOne),
		supervision.WithName(SupervisorName),
	}, opts...)
}
