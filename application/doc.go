// Package application packages supervision trees as OTP applications: named,
// versioned units with dependencies and an environment, started and stopped
// as a whole, in dependency order, by a controller that watches them. Its
// Run function is what a program's main calls.
//
// # Specs and modules
//
// A Spec is what OTP keeps in an .app file: Name, Description, Vsn,
// Dependencies, Env, and the Module that starts the application's processes
// with its Args. A Module's Start runs on the application's master process
// and returns the application's top process, usually a supervisor started
// linked to the master:
//
//	type KV struct{}
//
//	func (KV) Start(ctx *actor.Context, _ application.StartType, _ any) (actor.PID, error) {
//		return supervision.StartLink(ctx, kvChildren())
//	}
//
//	var Spec = application.Spec{Name: "kv", Vsn: "0.1.0", Module: KV{}}
//
// Optional PrepStop and Stop methods (PrepStopper, Stopper) run before the
// top process is shut down and after it has exited. A Spec without a Module
// is a library application: it only marks its place in the dependency
// graph.
//
// # The controller
//
// Each node has one Controller (NewController, ControllerOf), a process
// that owns every loaded spec and running application:
//
//	c, _ := application.NewController(node)
//	_ = c.Load(ctx, kv.Spec)
//	_ = c.Load(ctx, kvserver.Spec)
//	started, err := c.EnsureAllStarted(ctx, "kvserver", application.Permanent) // [kv kvserver]
//
// Start starts one application whose dependencies already run, and
// otherwise returns a *NotStartedError naming the missing one (OTP's
// {not_started, App}). EnsureAllStarted starts the dependencies first,
// independent ones concurrently, and lists what it started.
// WhichApplications, LoadedApplications, Spec (one key, such as KeyVsn),
// GetSpec, GetEnv, SetEnv and UnsetEnv read and change the controller's
// records.
//
// Stop stops an application and, first, every running application that
// depends on it (newest first): Stop never leaves an application running
// without its dependencies. This is a deliberate difference from OTP, whose
// application:stop/1 leaves dependents running. An application that dies
// by itself without ending the node (see Restart types) leaves its
// dependents running, as in OTP. Shutdown stops them all and ends the
// controller.
//
// # Restart types
//
// The RestartType given to Start says what happens when an application's
// top process exits by itself (not through Stop):
//
//   - Temporary (the default): the exit is logged.
//   - Transient: an exit with actor.Normal is logged; any other reason,
//     including the actor.Shutdown of a supervisor that gave up after too
//     many restarts, ends the node as Permanent does.
//   - Permanent: the controller stops every other application, newest
//     first, and exits with an *ExitError naming the application. Run
//     then returns ExitFailure.
//
// # Run
//
// Run starts a controller, loads and starts the given applications with
// EnsureAllStarted (Permanent by default), waits for SIGINT, SIGTERM, the
// end of ctx or the death of an application that ends the node, stops
// everything newest first within a deadline and returns an exit code. The
// caller stops the node and calls os.Exit:
//
//	func main() {
//		node := actor.NewNode()
//		code := application.Run(context.Background(), node, []application.Spec{kv.Spec, kvserver.Spec})
//		_ = node.Stop(context.Background())
//		os.Exit(code)
//	}
//
// # Guarantees
//
//   - The controller's records are owned by its process; every method is a
//     call to it, so what one caller changes the next caller sees.
//   - An application starts only while all its dependencies run, and Stop
//     stops its dependents before it; Shutdown and a node-ending death stop
//     applications in reverse start order, one at a time.
//   - This holds when a stop overlaps a start: Stop, Shutdown and a
//     node-ending death first wait for the starts under way of the
//     applications they will stop (Module.Start returning), then stop them
//     newest first, so one that finished starting meanwhile stops before
//     its dependencies. New starts they would have to stop are refused
//     (ErrStopping, ErrTerminating). A Module.Start that never returns
//     holds the stop up.
//   - Start, PrepStop and Stop of one application run on its master,
//     one after another. A panic in Start fails the start (a *StartError
//     wrapping an *actor.PanicError); a panic in PrepStop or Stop is logged
//     and the stop goes on.
//   - The top process must be linked to the master (StartLink): it then gets
//     actor.Shutdown when the application stops, and dies with the master if
//     the controller itself dies. With a deadline (Stop's ctx, Run's
//     shutdown timeout, WithStopTimeout), a top process still alive near it
//     is killed; one that outlives Kill by KillWait is abandoned.
//   - WhichApplications reflects an application's own death as soon as the
//     controller has handled its master's exit: just after, not at once.
//   - Start, Stop and EnsureAllStarted are not undone when their ctx ends:
//     they return ctx's error and the work goes on.
package application
