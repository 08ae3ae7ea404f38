package kv

import (
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

// Start implements application.Module.
func (App) Start(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
	return StartSupervisorLink(ctx)
}

// Spec returns the kv application's spec (the seed's mix.exs
// application/0 with mod: {KV, []}).
func Spec() application.Spec {
	return application.Spec{
		Name:        Name,
		Description: "named key-value buckets under supervision",
		Vsn:         Vsn,
		Module:      App{},
	}
}
