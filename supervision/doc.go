// Package supervision builds supervision trees: processes that start other
// processes, watch them, and restart them when they fail, as OTP's
// supervisor and Elixir's Supervisor and DynamicSupervisor do.
//
// # Supervisor
//
// A supervisor is a process that traps exits and is linked to each of its
// children. Describe each child with a ChildSpec and start them together:
//
//	sup, err := supervision.Start(node, []supervision.ChildSpec{
//		{ID: "cache", Start: func(ctx *actor.Context) (actor.PID, error) {
//			return behaviour.StartLink[cacheState](ctx, cache{}, behaviour.WithName("cache"))
//		}},
//		{ID: "worker", Start: startWorker, Restart: supervision.Transient,
//			Shutdown: supervision.Timeout(10 * time.Second)},
//		supervision.SupervisorSpec("jobs", jobSpecs, supervision.WithStrategy(supervision.RestForOne)),
//	}, supervision.WithName("app.sup"))
//
// A Start function receives the supervisor's own *actor.Context and must
// start its child linked to it (behaviour.StartLink, ctx.SpawnLink), so the
// child's Parent is the supervisor; a GenServer child that traps exits then
// runs its Terminate when the supervisor stops it. Children start in list
// order; Start returns once all run. If one fails to start, the ones already
// started are stopped in reverse order and Start returns a *StartError: no
// process is left behind.
//
// When a child exits, its Restart type decides whether it comes back:
// Permanent always, Transient only after an abnormal exit (anything but
// actor.Normal, actor.Shutdown or *actor.ShutdownError), Temporary never
// (and its spec is dropped). The Strategy decides which children restart:
// OneForOne the child alone, OneForAll all of them, RestForOne the child and
// those started after it. Children to restart are first stopped in reverse
// start order, then started again in order. A restarted child is a new
// process with a new PID; a name it registers in its Start moves to it.
//
// Restarts are counted in one sliding window per supervisor: more than
// MaxRestarts within Period (WithIntensity; default 3 in 5 s, Elixir's
// choice, where OTP's is 1 in 5 s) and the supervisor stops all its children
// and exits with actor.Shutdown, which its own supervisor then handles. A
// restart whose start fails is retried through the supervisor's mailbox and
// counts towards the intensity, so API calls still get through: a child
// stuck restarting can be terminated and deleted.
//
// Significant children (Transient or Temporary, Significant set) can end
// their supervisor when they exit by themselves: WithAutoShutdown(
// AnySignificant) or AllSignificant.
//
// # Stopping children
//
// A child is stopped as OTP does: the supervisor unlinks it, sends it the
// actor.Shutdown exit signal and waits for it to exit for its Shutdown limit
// (default 5 s for a worker, Infinity for a supervisor), then kills it.
// BrutalKill kills at once; Infinity waits however long it takes. A Go
// handler cannot be interrupted, so a kill takes effect when the child's
// current handler returns; a child still alive KillWait after the kill is
// reported and abandoned rather than hanging its supervisor.
//
// # protoactor actors
//
// ProtoChild(id, props) is the spec of a child that runs a protoactor-go
// actor on the node's ActorSystem. The supervisor decides, never
// protoactor's restart in place: a panic is the child's *actor.PanicError
// exit, a stop its actor.Normal exit, a restart a new actor with a new PID
// (queued messages are dropped, not replayed). Shutdown Poisons the actor
// within the limit; a kill Stops it. docs/protoactor.md is the guide.
//
// # DynamicSupervisor
//
// A DynamicSupervisor (OTP's simple_one_for_one) starts children on demand
// from one Template; StartChild passes an argument of the template's type:
//
//	buckets, err := supervision.StartDynamic(node, supervision.Template[string]{
//		Restart: supervision.Temporary,
//		Start: func(ctx *actor.Context, name string) (actor.PID, error) {
//			return behaviour.StartLink[bucketState](ctx, bucket{name: name})
//		},
//	}, supervision.WithMaxChildren(10_000))
//	pid, err := buckets.StartChild(ctx, "shopping")
//
// Its children restart one for one under the same intensity rule. When it
// stops, it stops all its children in parallel, each within the template's
// Shutdown limit.
//
// # API and OTP names
//
//	OTP / Elixir                          Arbor
//	supervisor:start_link/2,3             Start, StartLink, SupervisorSpec
//	supervisor:start_child/2              StartChild
//	supervisor:terminate_child/2          TerminateChild
//	supervisor:restart_child/2            RestartChild
//	supervisor:delete_child/2             DeleteChild
//	supervisor:which_children/1           WhichChildren
//	supervisor:count_children/1           CountChildren
//	supervisor:get_childspec/2            GetChildSpec
//	Supervisor.stop/1                     Stop
//	simple_one_for_one / DynamicSupervisor StartDynamic, StartDynamicLink, DynamicSpec
//	start_child(Sup, ExtraArgs)           DynamicSupervisor.StartChild(ctx, arg)
//	terminate_child(Sup, Pid)             DynamicSupervisor.TerminateChild
//	max_children                          WithMaxChildren
//	intensity, period                     WithIntensity
//	auto_shutdown                         WithAutoShutdown
//	{error, {already_started, Pid}}       Pid, ErrAlreadyStarted
//	{error, already_present}              ErrAlreadyPresent
//	{error, running | restarting}         ErrRunning, ErrRestarting
//	{error, {invalid_strategy, S}}        ErrInvalidOption
//	{invalid_intensity, I}, {invalid_period, P} ErrInvalidOption
//	{ok, undefined} / ignore              actor.Ignore
//	SASL supervisor/progress reports      zerolog events, see ReportKind
//
// Every API function is a call to the supervisor process: it takes a
// context.Context first, whose deadline bounds the wait
// (actor.DefaultCallTimeout without one); pass a longer one when children
// are slow to start or stop. From inside a process pass its *actor.Context.
//
// # Director
//
// A Director is a supervisor whose children each carry a plan: what to do
// on each of their exits, instead of one strategy for all. Plan elements are
// PlanRestart, PlanRestartAfter(d), PlanWait (stay down until RestartChild),
// PlanStop and PlanStopWith(reason) (the director itself exits), PlanDelete,
// and PlanFunc, which decides from the exit reason and the exit count. A
// plan runs Count times (CountInfinity for ever); then the director exits
// with a *MaxRestartPlanError. The callback's Init returns the children and
// a DefaultSpec; a child with Append merges with it (counts and timeouts add
// up, plans, modules and start arguments concatenate, Start may be left
// out). Plans that contain elements they can never reach are refused with
// ErrInvalidPlan. A per-child restart window (WithIntensity, default 3 in
// 5 s) postpones restarts that come too fast, so a bare PlanRestart with
// CountInfinity on a child that fails at once cannot spin a core. WithDebug
// logs every request, reply, exit and timer. docs/director.md is the guide.
//
// # Reports
//
// A supervisor logs through its node's zerolog logger, with fields, not
// formatted text: "supervisor" (its name or PID), "event" (a ReportKind:
// child_started, child_terminated, child_restarting, start_error,
// shutdown_error, reached_max_restart_intensity, supervisor_shutdown; a
// Director adds reached_max_restart_plan, plan_stop and
// child_restart_delayed),
// "child" (the ID), "child_pid" and "reason".
//
// # Guarantees
//
//   - A supervisor's state (children, window) is owned by its process: every
//     API call and every child exit is handled one at a time, in mailbox
//     order. WhichChildren and CountChildren are exact at the moment the
//     supervisor answers; a child may exit right after.
//   - An exit is acted upon once: a child that was stopped, deleted or
//     replaced is never restarted by a late Exit message.
//   - Children start in spec order and stop in reverse order, one at a time,
//     each within its Shutdown limit (DynamicSupervisor: all at once).
//   - When a supervisor stops (Stop, its parent's exit, intensity or auto
//     shutdown), no child it started is left running, except one abandoned
//     after KillWait, which is reported. A supervisor killed with actor.Kill
//     cannot stop its children: they get its exit signal through their links.
//   - Start and StartLink either return a running supervisor with all
//     children started, or an error and no process.
//   - Time (intensity window, shutdown timeouts) comes from the Clock given
//     with WithClock, the system clock by default.
package supervision
