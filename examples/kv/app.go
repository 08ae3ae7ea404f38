package kv

import (
	"fmt"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
)

// Name and Vsn of the kv application.
const (
	Name = "kv"
	Vsn  = "0.1.0"
)

// App is the kv application's callback module (the seed's `use
// Application` in lib/kv.ex): its Start starts the kv tree linked to the
// application master.
type App struct{}

// Start implements application.Module. The env keys EnvMaxBuckets and
// EnvMaxKeys (ints) set the tree's Config.
func (App) Start(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
	var cfg Config
	if c, err := application.ControllerOf(ctx.Node()); err == nil {
		for key, v := range map[string]*int{EnvMaxBuckets: &cfg.MaxBuckets, EnvMaxKeys: &cfg.MaxKeys} {
			n, _, err := application.GetEnvAs(ctx, c, Name, key, 0)
			if err != nil {
				return actor.PID{}, fmt.Errorf("kv: read env: %w", err)
			}
			*v = n
		}
	}
	return StartSupervisorLink(ctx, cfg)
}

// Spec returns the kv application's spec (the seed's mix.exs
// application/0 with mod: {KV, []}). Its environment holds EnvMaxBuckets
// and EnvMaxKeys, DefaultMaxBuckets and DefaultMaxKeys unless changed.
func Spec() application.Spec {
	return application.Spec{
		Name:        Name,
		Description: "named key-value buckets under supervision",
		Vsn:         Vsn,
		Env:         map[string]any{EnvMaxBuckets: DefaultMaxBuckets, EnvMaxKeys: DefaultMaxKeys},
		Module:      App{},
	}
}
