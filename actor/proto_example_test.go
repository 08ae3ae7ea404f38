package actor_test

import (
	"context"
	"fmt"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"

	"github.com/arbor-otp/arbor/actor"
)

// protoactor code asks an Arbor process with RequestFuture: the request
// arrives as an *actor.Request, and its Reply is the future's result.
func ExampleNode_ProtoPID() {
	node := actor.NewNode()
	defer node.Stop(context.Background())

	pid, _ := node.Spawn(actor.ReceiverFunc(func(c *actor.Context, msg any) error {
		if req, ok := msg.(*actor.Request); ok {
			req.Reply(fmt.Sprintf("hello, %v", req.Message()))
		}
		return nil
	}))
	res, err := node.ActorSystem().Root.RequestFuture(node.ProtoPID(pid), "protoactor", 5*time.Second).Result()
	fmt.Println(res, err)
	// Output: hello, protoactor <nil>
}

// Arbor code calls a protoactor actor through a proxy, and monitors it: the
// actor's ctx.Respond is the call's reply, its stop the Down.
func ExampleNode_Proxy() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	target := node.ActorSystem().Root.Spawn(pa.PropsFromFunc(func(c pa.Context) {
		if n, ok := c.Message().(int); ok {
			c.Respond(n + 1)
		}
	}))
	proxy, _ := node.Proxy(target)
	v, err := node.Call(ctx, proxy, 41)
	fmt.Println(v, err)

	watcher, _ := node.NewInbox()
	_, _ = watcher.Monitor(ctx, proxy)
	node.ActorSystem().Root.Stop(target)
	down, _ := watcher.Receive(ctx)
	fmt.Println(down.(actor.Down).Reason)
	// Output:
	// 42 <nil>
	// normal
}
