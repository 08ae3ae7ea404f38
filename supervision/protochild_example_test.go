package supervision_test

import (
	"context"
	"fmt"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
)

// cart is an Arbor GenServer that prices an item by calling the protoactor
// actor registered as "prices".
type cart struct{}

func (cart) Init(*actor.Context) (struct{}, error) { return struct{}{}, nil }

func (cart) HandleCall(ctx *actor.Context, _ behaviour.From, req any, s struct{}) behaviour.Result[struct{}] {
	prices, ok := ctx.Node().WhereIs("prices")
	if !ok {
		return behaviour.Reply(actor.NoProc, s)
	}
	price, err := actor.Call(ctx, prices, req)
	if err != nil {
		return behaviour.Reply(err, s)
	}
	return behaviour.Reply(price, s)
}

// A protoactor actor and an Arbor GenServer in one supervision tree: Arbor
// calls the actor, protoactor asks the GenServer, and the actor's panic is
// an exit the supervisor answers with a new actor.
func ExampleProtoChild() {
	node := actor.NewNode(actor.WithLogger(zerolog.Nop()))
	defer node.Stop(context.Background())
	ctx := context.Background()

	// An actor written for protoactor-go, unchanged.
	prices := pa.PropsFromFunc(func(c pa.Context) {
		if item, ok := c.Message().(string); ok {
			if item == "crash" {
				panic("price list corrupt")
			}
			c.Respond(len(item) * 100)
		}
	})
	sup, err := supervision.Start(node, []supervision.ChildSpec{
		supervision.ProtoChild("prices", prices, actor.WithName("prices")),
		{ID: "cart", Start: func(ctx *actor.Context) (actor.PID, error) {
			return behaviour.StartLink(ctx, cart{}, behaviour.WithName("cart"))
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cartPID, _ := node.WhereIs("cart")

	// Arbor → GenServer → protoactor actor.
	price, _ := behaviour.Call(ctx, cartPID, "apple")
	fmt.Println("apple:", price)

	// protoactor → GenServer (its HandleCall answers the future) → actor.
	price, _ = node.ActorSystem().Root.RequestFuture(node.ProtoPID(cartPID), "pear", 5*time.Second).Result()
	fmt.Println("pear:", price)

	// The actor panics: its child exits with the panic, and the
	// supervisor starts a new actor in its place.
	old, _ := node.WhereIs("prices")
	oldActor, _ := node.ProxyTarget(old)
	exited := node.WatchExit(old)
	_ = node.Send(old, "crash")
	fmt.Println("prices exited:", <-exited)
	for {
		kids, _ := supervision.WhichChildren(ctx, sup)
		if kids[0].PID != old && kids[0].State == supervision.Running {
			newActor, _ := node.ProxyTarget(kids[0].PID)
			fmt.Println("new actor:", !newActor.Equal(oldActor))
			break
		}
	}
	price, _ = behaviour.Call(ctx, cartPID, "fig")
	fmt.Println("fig:", price)
	_ = supervision.Stop(ctx, node, sup)
	// Output:
	// apple: 500
	// pear: 400
	// prices exited: panic: price list corrupt
	// new actor: true
	// fig: 300
}
