package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
	"github.com/arbor-otp/arbor/registry"
)

// broadcaster hands the last announced version to the page streams of
// this node. It is shared by the hub process, which feeds it, and the
// HTTP handlers, which read it; it keeps only the latest version, so a
// slow browser never holds anything up.
type broadcaster struct {
	mu       sync.Mutex
	last     string
	received uint64
	subs     map[chan struct{}]struct{}
}

func newBroadcaster() *broadcaster {
	return &broadcaster{subs: map[chan struct{}]struct{}{}}
}

// announce records v and wakes every stream.
func (b *broadcaster) announce(v string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = v
	b.received++
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // already woken; it reads the latest
		}
	}
}

// subscribe returns a channel woken by each announcement and the function
// that ends the subscription.
func (b *broadcaster) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// latest returns the last announced version ("" if none) and how many
// announcements this node received.
func (b *broadcaster) latest() (string, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last, b.received
}

// hub is the node's member of BrowsersGroup (the seed's version channel):
// a NewVersion published by the monitor reaches it, and it hands it to
// the page streams through the broadcaster.
type hub struct {
	reg *registry.Registry
	b   *broadcaster
}

func (h hub) Init(ctx *actor.Context) (struct{}, error) {
	jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.reg.Join(jctx, Scope, BrowsersGroup, ctx.Self(), nil); err != nil {
		return struct{}{}, fmt.Errorf("hub: join %s: %w", BrowsersGroup, err)
	}
	return struct{}{}, nil
}

func (h hub) HandleInfo(ctx *actor.Context, msg any, s struct{}) behaviour.Result[struct{}] {
	nv, ok := msg.(*versionpb.NewVersion)
	if !ok {
		ctx.Logger().Warn().Str("type", fmt.Sprintf("%T", msg)).Msg("hub: unexpected message")
		return behaviour.NoReply(s)
	}
	if _, err := ParseVersion(nv.GetVersion()); err != nil {
		ctx.Logger().Warn().Err(err).Msg("hub: new_version dropped")
		return behaviour.NoReply(s)
	}
	ctx.Logger().Info().Str("version", nv.GetVersion()).Msg("hub: new_version")
	h.b.announce(nv.GetVersion())
	return behaviour.NoReply(s)
}

func (h hub) start(ctx *actor.Context) (actor.PID, error) {
	return behaviour.StartLink[struct{}](ctx, h)
}
