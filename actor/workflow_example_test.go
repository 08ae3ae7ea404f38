package actor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
)

// Exit signals, as Erlang's exit/2: a process that traps exits gets them
// as Exit messages, Normal included; Kill cannot be trapped and ends the
// target with Killed.
func ExampleContext_Exit() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	trapper, _ := node.NewInbox(actor.WithTrapExit())
	_ = node.Exit(trapper.PID(), actor.Normal)
	_ = node.Exit(trapper.PID(), errors.New("go away"))
	for range 2 {
		msg, _ := trapper.Receive(ctx)
		fmt.Println("trapped:", msg.(actor.Exit).Reason)
	}

	// A process that does not trap exits ignores Normal and dies of the rest.
	worker, _ := node.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	_ = node.Exit(worker, actor.Normal)
	fmt.Println("alive after normal:", node.IsAlive(worker))
	done := node.WatchExit(trapper.PID())
	_ = node.Exit(trapper.PID(), actor.Kill) // even a trapper
	fmt.Println("trapper ended with:", <-done)
	_ = node.Kill(worker)
	// Output:
	// trapped: normal
	// trapped: go away
	// alive after normal: true
	// trapper ended with: killed
}

// A node-wide name: SendNamed reaches its holder, and the name is released
// when the holder exits, after which SendNamed is an error, not a silent
// drop.
func ExampleNode_Register() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	ib, _ := node.NewInbox()
	_ = node.Register("logger", ib.PID())
	_ = node.SendNamed("logger", "hello")
	msg, _ := ib.Receive(ctx)
	fmt.Println(msg)
	pid, ok := node.WhereIs("logger")
	fmt.Println(pid == ib.PID(), ok)

	ib.Close()
	_, ok = node.WhereIs("logger")
	fmt.Println(ok, node.SendNamed("logger", "hello"))
	// Output:
	// hello
	// true true
	// false send to name "logger": actor: unknown name
}

// A timer: SendAfter delivers later; CancelTimer stops a pending one and
// says whether it was.
func ExampleNode_SendAfter() {
	node := actor.NewNode()
	defer node.Stop(context.Background())
	ctx := context.Background()

	ib, _ := node.NewInbox()
	node.SendAfter(ib.PID(), "tick", 10*time.Millisecond)
	later := node.SendAfter(ib.PID(), "never", time.Hour)
	msg, _ := ib.Receive(ctx)
	fmt.Println(msg, node.CancelTimer(later), node.CancelTimer(later))
	// Output: tick true false
}
