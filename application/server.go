package application

import (
	"fmt"
	"slices"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/rs/zerolog"
)

// Requests to the controller process.
type (
	loadReq   struct{ spec Spec }
	unloadReq struct{ name string }
	startReq  struct {
		name   string
		typ    RestartType
		ensure bool // EnsureAllStarted: "already started" is not an error
	}
	planReq struct{ name string }
	stopReq struct {
		name     string
		deadline time.Time
	}
	shutdownReq struct{ deadline time.Time }
	whichReq    struct{ loaded bool }
	specReq     struct {
		name string
		key  Key
	}
	fullSpecReq struct{ name string }
	getEnvReq   struct{ app, key string }
	setEnvReq   struct {
		app, key string
		val      any
		unset    bool
	}
)

// reply is every answer of the controller.
type reply struct {
	v   any
	err error
}

// envValue is the answer to getEnvReq.
type envValue struct {
	v  any
	ok bool
}

// planItem is one application EnsureAllStarted may have to start, with its
// direct dependencies.
type planItem struct {
	name    string
	deps    []string
	running bool
}

// app is the controller's record of one loaded application.
type app struct {
	spec    Spec
	status  Status
	typ     RestartType
	master  actor.PID
	top     actor.PID
	waiters []waiter
}

// waiter is a Start call waiting for Module.Start to finish.
type waiter struct {
	from   behaviour.From
	ensure bool
}

// stopJob stops applications one at a time, in reverse start order.
type stopJob struct {
	all      bool   // every application (Shutdown, termination)
	target   string // else: target and the applications depending on it
	deadline time.Time
	from     *behaviour.From
	stopped  []string
	current  string // the application being stopped, if any
	exit     error  // when non-nil, the controller exits with it afterwards
}

// state is the controller's state, owned by its process.
type state struct {
	apps        map[string]*app
	order       []string // started applications, in start order
	byMaster    map[actor.PID]string
	jobs        []*stopJob
	terminating bool
	stopTimeout time.Duration
	log         zerolog.Logger
	// seq numbers the starts, so EnsureAllStarted can list what it started
	// in the controller's start order.
	seq uint64
}

// server is the controller's GenServer (OTP's application_controller).
type server struct {
	stopTimeout time.Duration
	exit        *exitRecord
}

func (sv server) Init(ctx *actor.Context) (*state, error) {
	// The exit is watched before anything can end the controller, and
	// the name taken after that, so that ControllerOf always finds the
	// record of the controller it finds by name.
	sv.exit.watch(ctx.Node(), ctx.Self())
	if err := ctx.Register(ControllerName); err != nil {
		return nil, err
	}
	return &state{
		apps:        map[string]*app{},
		byMaster:    map[actor.PID]string{},
		stopTimeout: sv.stopTimeout,
		log:         ctx.Logger().With().Str("component", "application_controller").Logger(),
	}, nil
}

func (server) HandleCall(ctx *actor.Context, from behaviour.From, req any, s *state) behaviour.Result[*state] {
	switch r := req.(type) {
	case loadReq:
		return behaviour.Reply(reply{err: s.load(r.spec)}, s)
	case unloadReq:
		return behaviour.Reply(reply{err: s.unload(r.name)}, s)
	case startReq:
		if err := s.start(ctx, from, r); err != nil {
			return behaviour.Reply(reply{err: err}, s)
		}
		return behaviour.NoReply(s)
	case planReq:
		items, err := s.plan(r.name)
		return behaviour.Reply(reply{v: items, err: err}, s)
	case stopReq:
		a, ok := s.apps[r.name]
		switch {
		case !ok:
			return behaviour.Reply(reply{err: fmt.Errorf("%w: %s", ErrNotLoaded, r.name)}, s)
		case a.status == Stopping:
			return behaviour.Reply(reply{err: fmt.Errorf("%w: %s", ErrStopping, r.name)}, s)
		case a.status != Running:
			return behaviour.Reply(reply{err: &NotStartedError{App: r.name}}, s)
		}
		s.jobs = append(s.jobs, &stopJob{target: r.name, deadline: r.deadline, from: &from})
		return s.advance(ctx)
	case shutdownReq:
		s.terminating = true
		s.jobs = append(s.jobs, &stopJob{all: true, deadline: r.deadline, from: &from, exit: actor.Normal})
		return s.advance(ctx)
	case whichReq:
		return behaviour.Reply(reply{v: s.which(r.loaded)}, s)
	case specReq:
		v, err := s.specKey(r.name, r.key)
		return behaviour.Reply(reply{v: v, err: err}, s)
	case fullSpecReq:
		a, ok := s.apps[r.name]
		if !ok {
			return behaviour.Reply(reply{err: fmt.Errorf("%w: %s", ErrNotLoaded, r.name)}, s)
		}
		return behaviour.Reply(reply{v: a.spec.clone()}, s)
	case getEnvReq:
		a, ok := s.apps[r.app]
		if !ok {
			return behaviour.Reply(reply{err: fmt.Errorf("%w: %s", ErrNotLoaded, r.app)}, s)
		}
		v, found := a.spec.Env[r.key]
		return behaviour.Reply(reply{v: envValue{v: v, ok: found}}, s)
	case setEnvReq:
		a, ok := s.apps[r.app]
		if !ok {
			return behaviour.Reply(reply{err: fmt.Errorf("%w: %s", ErrNotLoaded, r.app)}, s)
		}
		if r.unset {
			delete(a.spec.Env, r.key)
		} else {
			a.spec.Env[r.key] = r.val
		}
		return behaviour.Reply(reply{}, s)
	}
	return behaviour.Reply(reply{err: fmt.Errorf("application: unknown request %T", req)}, s)
}

func (server) HandleInfo(ctx *actor.Context, msg any, s *state) behaviour.Result[*state] {
	switch m := msg.(type) {
	case masterReport:
		s.started(m)
		return s.advance(ctx)
	case actor.Exit:
		name, ok := s.byMaster[m.From]
		if !ok {
			return behaviour.NoReply(s)
		}
		delete(s.byMaster, m.From)
		s.masterExited(name, m.Reason)
		return s.advance(ctx)
	}
	return behaviour.NoReply(s)
}

func (s *state) load(spec Spec) error {
	if err := spec.validate(); err != nil {
		return err
	}
	if _, ok := s.apps[spec.Name]; ok {
		return fmt.Errorf("%w: %s", ErrAlreadyLoaded, spec.Name)
	}
	s.apps[spec.Name] = &app{spec: spec.clone()}
	return nil
}

func (s *state) unload(name string) error {
	a, ok := s.apps[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotLoaded, name)
	}
	if a.status != Loaded {
		return fmt.Errorf("%w: %s is %s", ErrRunning, name, a.status)
	}
	delete(s.apps, name)
	return nil
}

// start begins starting one application. A nil error means the answer
// comes later (or was already sent).
func (s *state) start(ctx *actor.Context, from behaviour.From, r startReq) error {
	a, ok := s.apps[r.name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotLoaded, r.name)
	}
	if s.terminating {
		return ErrTerminating
	}
	switch a.status {
	case Running:
		if r.ensure {
			from.Reply(reply{v: uint64(0)})
			return nil
		}
		return fmt.Errorf("%w: %s", ErrAlreadyStarted, r.name)
	case Starting:
		if r.ensure {
			a.waiters = append(a.waiters, waiter{from: from, ensure: true})
			return nil
		}
		return fmt.Errorf("%w: %s", ErrAlreadyStarted, r.name)
	case Stopping:
		return fmt.Errorf("%w: %s", ErrStopping, r.name)
	}
	// A pending Stop of a dependency will stop this application too:
	// starting it now would only delay that Stop, or outlive it.
	for _, j := range s.jobs {
		if !j.all && s.dependsOn(r.name, j.target, map[string]bool{}) {
			return fmt.Errorf("%w: %s, a dependency of %s", ErrStopping, j.target, r.name)
		}
	}
	for _, d := range a.spec.Dependencies {
		if da, ok := s.apps[d]; !ok || da.status != Running {
			return &NotStartedError{App: r.name, Missing: d}
		}
	}
	a.typ = r.typ
	if a.spec.Module == nil {
		// A library application: nothing to start.
		a.status = Running
		s.order = append(s.order, r.name)
		s.seq++
		s.log.Info().Str("app", r.name).Stringer("type", r.typ).Msg("application started")
		from.Reply(reply{v: s.seq})
		return nil
	}
	m := &master{
		name: r.name,
		mod:  a.spec.Module,
		args: a.spec.Args,
		log:  s.log.With().Str("app", r.name).Logger(),
	}
	pid, err := ctx.SpawnLink(m, actor.WithTrapExit())
	if err != nil {
		return &StartError{App: r.name, Err: err}
	}
	a.status, a.master = Starting, pid
	a.waiters = append(a.waiters, waiter{from: from, ensure: r.ensure})
	s.byMaster[pid] = r.name
	_ = ctx.Send(pid, masterStart{})
	return nil
}

// started handles a master's report on Module.Start.
func (s *state) started(m masterReport) {
	name, ok := s.byMaster[m.master]
	if !ok {
		return
	}
	a := s.apps[name]
	if a.status != Starting {
		return
	}
	if m.err != nil {
		// The master exits on its own; its Exit finds no record.
		delete(s.byMaster, m.master)
		s.failStart(name, a, m.err)
		return
	}
	a.status, a.top = Running, m.top
	s.order = append(s.order, name)
	s.seq++
	s.log.Info().Str("app", name).Str("vsn", a.spec.Vsn).Stringer("type", a.typ).Stringer("top", m.top).Msg("application started")
	for i, w := range a.waiters {
		switch {
		case s.terminating:
			w.from.Reply(reply{err: ErrTerminating})
		default:
			// The first waiter asked for the start; later ones
			// (EnsureAllStarted) found it under way.
			seq := s.seq
			if i > 0 {
				seq = 0
			}
			w.from.Reply(reply{v: seq})
		}
	}
	a.waiters = nil
}

func (s *state) failStart(name string, a *app, err error) {
	s.log.Error().Str("app", name).Err(err).Msg("application failed to start")
	a.status, a.master, a.top = Loaded, actor.PID{}, actor.PID{}
	for _, w := range a.waiters {
		w.from.Reply(reply{err: &StartError{App: name, Err: err}})
	}
	a.waiters = nil
}

// masterExited handles the end of an application master.
func (s *state) masterExited(name string, reason error) {
	a := s.apps[name]
	switch a.status {
	case Starting:
		s.failStart(name, a, reason) // Module.Start panicked
		return
	case Stopping:
		s.remove(name, a)
		ev := s.log.Info()
		if !isNormal(reason) {
			ev = s.log.Error().Err(reason)
		}
		ev.Str("app", name).Stringer("type", a.typ).Msg("application stopped")
		for _, j := range s.jobs {
			if j.current == name {
				j.current = ""
				j.stopped = append(j.stopped, name)
			}
		}
		return
	case Running:
	default:
		return
	}
	typ := a.typ
	s.remove(name, a)
	fatal := typ == Permanent || (typ == Transient && !isNormal(reason))
	ev := s.log.Info()
	if fatal || !isNormal(reason) {
		ev = s.log.Error()
	}
	ev.Str("app", name).Stringer("type", typ).AnErr("reason", reason).Msg("application exited")
	if !fatal || s.terminating {
		return
	}
	cause := &ExitError{App: name, Type: typ, Reason: reason}
	s.log.Error().Str("app", name).Err(cause).Msg("stopping every application: a " + typ.String() + " application exited")
	s.terminating = true
	j := &stopJob{all: true, exit: cause}
	if s.stopTimeout > 0 {
		j.deadline = time.Now().Add(s.stopTimeout)
	}
	s.jobs = append(s.jobs, j)
}

func (s *state) remove(name string, a *app) {
	a.status, a.master, a.top = Loaded, actor.PID{}, actor.PID{}
	if i := slices.Index(s.order, name); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
}

// advance drives the stop jobs, one at a time and each one application at
// a time. A job first waits for the starts under way of the applications
// it will stop: once started, such an application is the newest, so it
// stops before its dependencies. (No new start joins them: start refuses
// the applications a pending job will stop.)
func (s *state) advance(ctx *actor.Context) behaviour.Result[*state] {
	for len(s.jobs) > 0 {
		j := s.jobs[0]
		if j.current != "" || s.startingIn(j) {
			break
		}
		if name := s.nextToStop(j); name != "" {
			a := s.apps[name]
			a.status, j.current = Stopping, name
			if a.master.IsZero() {
				// A library application: nothing runs.
				s.remove(name, a)
				s.log.Info().Str("app", name).Msg("application stopped")
				j.current = ""
				j.stopped = append(j.stopped, name)
				continue
			}
			_ = ctx.Send(a.master, masterStop{deadline: j.deadline})
			break
		}
		s.jobs = s.jobs[1:]
		if j.from != nil {
			j.from.Reply(reply{v: j.stopped})
		}
		if j.exit != nil {
			return behaviour.Stop(j.exit, s)
		}
	}
	return behaviour.NoReply(s)
}

// nextToStop returns the running application j must stop next, or "".
func (s *state) nextToStop(j *stopJob) string {
	for i := len(s.order) - 1; i >= 0; i-- {
		name := s.order[i]
		if s.apps[name].status != Running {
			continue
		}
		if j.all || name == j.target || s.dependsOn(name, j.target, map[string]bool{}) {
			return name
		}
	}
	return ""
}

// dependsOn reports whether name depends on target, directly or not.
func (s *state) dependsOn(name, target string, seen map[string]bool) bool {
	if seen[name] {
		return false
	}
	seen[name] = true
	a, ok := s.apps[name]
	if !ok {
		return false
	}
	for _, d := range a.spec.Dependencies {
		if d == target || s.dependsOn(d, target, seen) {
			return true
		}
	}
	return false
}

// startingIn reports whether an application j will stop is still
// starting.
func (s *state) startingIn(j *stopJob) bool {
	for name, a := range s.apps {
		if a.status == Starting && (j.all || s.dependsOn(name, j.target, map[string]bool{})) {
			return true
		}
	}
	return false
}

// plan lists name and its dependencies, transitively, dependencies first.
func (s *state) plan(name string) ([]planItem, error) {
	var items []planItem
	done := map[string]bool{}
	var visit func(n, by string, path []string) error
	visit = func(n, by string, path []string) error {
		if i := slices.Index(path, n); i >= 0 {
			return fmt.Errorf("%w: %s", ErrCycle, joinPath(append(path[i:], n)))
		}
		if done[n] {
			return nil
		}
		a, ok := s.apps[n]
		if !ok {
			if by == "" {
				return fmt.Errorf("%w: %s", ErrNotLoaded, n)
			}
			return fmt.Errorf("%w: %s (a dependency of %s)", ErrNotLoaded, n, by)
		}
		path = append(path, n)
		for _, d := range a.spec.Dependencies {
			if err := visit(d, n, path); err != nil {
				return err
			}
		}
		done[n] = true
		items = append(items, planItem{name: n, deps: slices.Clone(a.spec.Dependencies), running: a.status == Running})
		return nil
	}
	if err := visit(name, "", nil); err != nil {
		return nil, err
	}
	return items, nil
}

func joinPath(p []string) string {
	out := ""
	for i, n := range p {
		if i > 0 {
			out += " -> "
		}
		out += n
	}
	return out
}

func (s *state) which(loaded bool) []Info {
	var out []Info
	if loaded {
		for _, a := range s.apps {
			out = append(out, s.info(a))
		}
		slices.SortFunc(out, func(x, y Info) int {
			switch {
			case x.Name < y.Name:
				return -1
			case x.Name > y.Name:
				return 1
			}
			return 0
		})
		return out
	}
	for _, name := range s.order {
		out = append(out, s.info(s.apps[name]))
	}
	return out
}

func (s *state) info(a *app) Info {
	i := Info{Name: a.spec.Name, Description: a.spec.Description, Vsn: a.spec.Vsn, Status: a.status}
	if a.status == Running || a.status == Stopping {
		i.Type, i.Top = a.typ, a.top
	}
	return i
}

func (s *state) specKey(name string, key Key) (any, error) {
	a, ok := s.apps[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotLoaded, name)
	}
	switch key {
	case KeyDescription:
		return a.spec.Description, nil
	case KeyVsn:
		return a.spec.Vsn, nil
	case KeyDependencies:
		return slices.Clone(a.spec.Dependencies), nil
	case KeyEnv:
		return a.spec.clone().Env, nil
	case KeyArgs:
		return a.spec.Args, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownKey, key)
}
