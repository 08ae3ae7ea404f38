// Package behaviour provides OTP's generic behaviours on Arbor processes:
// GenServer (Server with typed state) and EventManager (gen_event).
//
// # GenServer
//
// A GenServer is a type with an Init callback returning its state S, plus
// any of the optional handler interfaces: CallHandler, CastHandler,
// InfoHandler, ContinueHandler, Terminator. Every callback receives and
// returns an S, never an interface to cast.
//
//	type Counter struct{}
//
//	func (Counter) Init(*actor.Context) (int, error) { return 0, nil }
//
//	func (Counter) HandleCall(_ *actor.Context, _ behaviour.From, req any, n int) behaviour.Result[int] {
//		switch req.(type) {
//		case Inc:
//			return behaviour.Reply(n+1, n+1)
//		}
//		return behaviour.Reply(n, n)
//	}
//
//	pid, err := behaviour.Start[int](node, Counter{})
//	v, err := behaviour.CallAs[int](ctx, pid, Inc{})
//
// Callbacks return a Result: Reply(v, s), NoReply(s) (answer later with
// From.Reply, from any goroutine), Stop(reason, s), StopReply(reason, v, s),
// each optionally followed by .Continue(arg) (HandleContinue runs before the
// next message) or .Timeout(d) (HandleInfo gets Timeout{} if nothing arrives
// within d). Init may return InitContinue, InitTimeout, or Ignore.
//
// The OTP mapping: gen_server:start → Start, start_link → StartLink,
// call → Call / CallAs, cast → Cast, reply → From.Reply, stop → StopServer.
//
// # EventManager
//
// StartEventManager[E] starts a gen_event manager for events of type E.
// Handlers implement EventHandler[E] (their fields are their state) and
// optionally HandlerIniter, HandlerTerminator and HandlerCaller. A handler
// whose HandleEvent returns an error or panics is removed and logged; the
// manager and other handlers carry on. A monitored handler
// (AddMonitoredHandler) is removed when its owner exits, and its owner gets
// HandlerRemoved when it is removed for any other reason.
//
// # Guarantees
//
//   - Start returns after Init has run, with Init's error; a failed Init
//     leaves no process and no registered name.
//   - Terminate runs once: when a callback returns Stop or StopReply, on
//     StopServer, when a callback panics, and when the server traps exits
//     and its parent (the process that called StartLink) exits. A server
//     killed with actor.Kill, or one not trapping exits whose parent dies,
//     ends without Terminate, as in OTP.
//   - A Call fails with the server's exit reason as soon as the server dies,
//     including while the call is deferred with NoReply.
//   - Notify and SyncNotify reach the handlers in the order sent; handlers
//     are called in the order they were added.
package behaviour
