// Package behaviour provides OTP's generic behaviours on Arbor processes:
// GenServer (Server with typed state) and EventManager (gen_event).
//
// # GenServer
//
// A GenServer is a type with an Init callback returning its state S, plus
// any of the optional handler interfaces: CallHandler, CastHandler,
// InfoHandler, ContinueHandler, Terminator, StateFormatter. Every callback
// receives and returns an S, never an interface to cast.
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
// next message), .Timeout(d) (HandleInfo gets Timeout{} if nothing arrives
// within d; Timeout(0) times out at once unless a message is already
// waiting) or .Hibernate() (the idle server gives back the memory it grew
// for past peaks). A Result without Timeout has no idle timeout. Init may
// return InitContinue, InitTimeout, InitHibernate, or Ignore.
//
// InitContinue is how a server does slow set-up work: Start returns when
// Init does, and HandleContinue runs in the new process before any message
// it receives. A Stop from that HandleContinue is the exit of a started
// process, seen by its links, monitors and supervisor.
//
// The OTP mapping: gen_server:start → Start, start_link → StartLink,
// call → Call / CallAs, cast → Cast, reply → From.Reply, stop → StopServer.
// docs/otp-mapping.md lists every form, and what does not carry over to Go.
//
// # Crash reports
//
// A server that ends with an abnormal reason (not actor.Normal,
// actor.Shutdown or an *actor.ShutdownError) after running its Terminate
// logs one error event on the node's logger, OTP's "generic server
// terminating" report, whether it is supervised or not:
//
//	{"level":"error","node":"nonode@nohost","pid":"<nonode@nohost.0.1>",
//	 "event":"crash_report","server":"acct",
//	 "last_message_kind":"cast","last_message_type":"main.deposit",
//	 "last_message":"{Amount:5}","state":"{Owner:ada Balance:10}",
//	 "reason":"behaviour: no handler for message",
//	 "message":"gen_server terminated abnormally"}
//
// server is the registered name (the PID without one); caller, the calling
// process, is there when the last message was a call. Message and state
// texts are fmt's %+v cut to 512 bytes, or the server's FormatState for the
// state (StateFormatter, to shorten it or hide secrets). A killed server
// runs no Terminate and logs none, as in OTP; its supervisor still reports
// it. Switch the reports off per node with actor.WithCrashReports(false).
//
// # EventManager
//
// StartEventManager[E] starts a gen_event manager for events of type E.
// Handlers implement EventHandler[E] (their fields are their state) and
// optionally HandlerIniter, HandlerTerminator, HandlerCaller,
// HandlerSwapOuter and HandlerSwapIniter. A handler whose HandleEvent
// returns an error or panics is removed and logged; the manager and other
// handlers carry on. One that returns actor.Normal asks to be removed
// (gen_event's remove_handler): it is, as by RemoveHandler, with nothing
// logged. The manager traps exits.
//
// A supervised handler (AddSupervisedHandler, OTP's add_sup_handler) links
// the manager and the handler's owner: if the owner exits, its handlers are
// removed; when a supervised handler is removed for any other reason, or
// the manager stops, the owner receives HandlerRemoved and the manager
// unlinks from it (but never from its own parent); if the manager dies without stopping (killed), the link
// carries its exit to the owner (an actor.Exit for an owner that traps
// exits). SwapHandler and SwapSupervisedHandler replace a handler in one
// step, handing over its state.
//
// # Guarantees
//
//   - Start returns after Init has run, with Init's error; a failed Init
//     leaves no process and no registered name. Start does not wait for the
//     HandleContinue of InitContinue.
//   - HandleContinue asked for by InitContinue or a Result runs before the
//     next message the server handles.
//   - Terminate runs once: when a callback returns Stop or StopReply, on
//     StopServer, when a callback panics, and when the server traps exits
//     and its parent (the process that called StartLink) exits. A server
//     killed with actor.Kill, or one not trapping exits whose parent dies,
//     ends without Terminate, as in OTP.
//   - A Call fails with the server's exit reason as soon as the server dies,
//     including while the call is deferred with NoReply.
//   - An idle timeout is cancelled by any message the server handles; a
//     stale timeout never reaches HandleInfo.
//   - Notify and SyncNotify reach the handlers in the order sent; handlers
//     are called in the order they were added (a swapped-in handler takes
//     the place of the one it replaces).
//   - The owner of a supervised handler learns of its removal or of the
//     manager's death: by HandlerRemoved, or by the link's exit signal when
//     the manager could not send it.
package behaviour
