package consul

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
)

// Lock defaults, chosen for a fast takeover. Consul's servers refuse a
// session TTL under their session_ttl_min (10 s unless configured), so 10 s
// is the shortest TTL a stock cluster accepts. The lock-delay of 2 s gives
// a StopBudget of 7 s: a worker's default shutdown limit (5 s) fits, with
// 2 s for its kill to take effect.
const (
	DefaultLockTTL      = 10 * time.Second
	DefaultLockDelay    = 2 * time.Second
	DefaultLockPrefix   = "arbor/lock/"
	DefaultLockWaitTime = 5 * time.Second
	// lockRetry is the pause before another try at a key that looked free
	// but could not be taken (a lock-delay in effect, or a race lost).
	lockRetry = 200 * time.Millisecond
	// lockFlags marks the KV pairs Arbor uses as locks.
	lockFlags = 0xa4b0_7c0c
)

// LockOption configures a Locker.
type LockOption func(*lockConfig)

type lockConfig struct {
	address  string
	ttl      time.Duration
	delay    time.Duration
	prefix   string
	holder   string
	waitTime time.Duration
	logger   *zerolog.Logger
}

// WithLockAddress sets the Consul agent's HTTP address (default: the
// CONSUL_HTTP_ADDR environment variable, else 127.0.0.1:8500).
func WithLockAddress(addr string) LockOption { return func(c *lockConfig) { c.address = addr } }

// WithLockTTL sets the TTL of the lock's Consul session (default 10 s).
// The holder renews it every TTL/5 and gives the lease up when it could
// not renew for TTL/2 (its renew deadline); Consul invalidates a session
// between TTL and 2×TTL after its last renewal. Consul refuses a TTL
// below its servers' session_ttl_min (10 s by default).
func WithLockTTL(d time.Duration) LockOption { return func(c *lockConfig) { c.ttl = d } }

// WithLockDelay sets the session's lock-delay (default 2 s): after the
// session is invalidated (expired or destroyed), Consul refuses the key to
// everyone for this long. An explicit Release applies no delay. Zero
// turns it off (Consul's smallest delay, 1 ms, is sent). The session has
// no node checks: only its TTL expires it, never a failed agent.
func WithLockDelay(d time.Duration) LockOption { return func(c *lockConfig) { c.delay = d } }

// WithLockPrefix sets the KV prefix under which lock keys live (default
// "arbor/lock/"): the lock on key k is the KV pair prefix+k.
func WithLockPrefix(p string) LockOption { return func(c *lockConfig) { c.prefix = p } }

// WithLockHolder names the holder in Consul: the session's name and the
// lock pair's value, so an operator sees who holds a key (default
// "host:pid"). Use the node's name.
func WithLockHolder(name string) LockOption { return func(c *lockConfig) { c.holder = name } }

// WithLockWaitTime sets the longest wait of one blocking query on a key
// (default 5 s).
func WithLockWaitTime(d time.Duration) LockOption { return func(c *lockConfig) { c.waitTime = d } }

// WithLockLogger sets the Locker's logger (default: info to stderr).
func WithLockLogger(l zerolog.Logger) LockOption { return func(c *lockConfig) { c.logger = &l } }

// Locker is a cluster.Locker on Consul sessions: the lock on a key is a KV
// pair acquired by a session with a TTL that the holder renews.
//
// The fencing token of a lease is the pair's ModifyIndex at the
// acquisition (read in the same transaction that acquires it). It is the
// Raft index of the acquiring write, so each acquisition's token is
// greater than that of every earlier one, whoever held the key and
// whatever happened to the pair meanwhile. The pair's LockIndex is not
// used: it counts the acquisitions of the pair since it was created and
// starts again at 1 when the pair is deleted (by an operator, or a session
// whose behaviour is delete), so it can go back. Both live in Consul's
// Raft state: a cluster that loses that state (a -dev agent restarted)
// starts its indexes again, and its tokens with them.
type Locker struct {
	cfg    lockConfig
	client *api.Client
	log    zerolog.Logger
}

var _ cluster.Locker = (*Locker)(nil)

// NewLocker returns a Locker; it contacts Consul only in Acquire. It
// returns ErrBadLockOption for a TTL, lock-delay or wait time out of range.
func NewLocker(opts ...LockOption) (*Locker, error) {
	host, _ := os.Hostname()
	cfg := lockConfig{ttl: DefaultLockTTL, delay: DefaultLockDelay, prefix: DefaultLockPrefix,
		waitTime: DefaultLockWaitTime, holder: host + ":" + strconv.Itoa(os.Getpid())}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	switch {
	case cfg.ttl < time.Second:
		return nil, fmt.Errorf("%w: TTL %v is under 1s", ErrBadLockOption, cfg.ttl)
	case cfg.delay < 0 || cfg.delay > time.Minute:
		return nil, fmt.Errorf("%w: lock-delay %v is not within [0, 1m]", ErrBadLockOption, cfg.delay)
	case cfg.waitTime <= 0:
		return nil, fmt.Errorf("%w: wait time %v is not positive", ErrBadLockOption, cfg.waitTime)
	}
	if cfg.logger == nil {
		l := zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger()
		cfg.logger = &l
	}
	cc := api.DefaultConfig()
	if cfg.address != "" {
		cc.Address = cfg.address
	}
	client, err := api.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("consul client: %w", err)
	}
	return &Locker{cfg: cfg, client: client,
		log: cfg.logger.With().Str("component", "consul-lock").Str("holder", cfg.holder).Logger()}, nil
}

// renewInterval and renewDeadline derive from the TTL.
func (l *Locker) renewInterval() time.Duration { return l.cfg.ttl / 5 }
func (l *Locker) renewDeadline() time.Duration { return l.cfg.ttl / 2 }

// requestTimeout bounds each Consul request that does not block on an
// index (session create, the acquiring transaction): an answer later than
// the renew deadline would give a lease already lost. A hung agent (a
// frozen process, a path that went silent) fails the request instead of
// holding its caller.
func (l *Locker) requestTimeout() time.Duration { return l.renewDeadline() }

// queryTimeout bounds a blocking query: its wait time, the up to 1/16
// more that Consul adds to spread the answers, and a request's time.
func (l *Locker) queryTimeout() time.Duration {
	return l.cfg.waitTime + l.cfg.waitTime/16 + l.requestTimeout()
}

// StopBudget is the time a holder has, from the moment one of its leases
// is lost at its renew deadline, before another holder can take the key:
// Consul expires the session no earlier than TTL after its last renewal
// (the deadline is TTL/2 after it), then refuses the key to everyone for
// the lock-delay. TTL/2 + lock-delay: 7 s with the defaults. A lease lost
// because its session was destroyed (by an operator) has only the
// lock-delay. cluster/singleton refuses to start a child whose shutdown
// limit is not under it.
func (l *Locker) StopBudget() time.Duration { return l.cfg.ttl - l.renewDeadline() + l.cfg.delay }

// Acquire blocks until this Locker holds key, or ctx ends (it returns
// ctx's error). It waits on a blocking query while another session holds
// the key, and keeps trying (logging once) while Consul is unreachable. It
// returns an error wrapping ErrBadLockOption for an empty key, and for a
// TTL that Consul's servers refuse (outside their session_ttl_min, 10 s by
// default, and 24 h).
func (l *Locker) Acquire(ctx context.Context, key string) (cluster.Lease, error) {
	if key == "" {
		return nil, fmt.Errorf("%w: empty key", ErrBadLockOption)
	}
	kvKey := l.cfg.prefix + key
	log := l.log.With().Str("key", kvKey).Logger()
	var (
		index   uint64
		backoff time.Duration
		failing bool
	)
	pause := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	fail := func(err error) error {
		if !failing {
			log.Warn().Err(err).Msg("consul unreachable: cannot acquire the lock")
			failing = true
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
		return pause(backoff)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		qctx, cancel := context.WithTimeout(ctx, l.queryTimeout())
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: l.cfg.waitTime}).WithContext(qctx)
		pair, meta, err := l.client.KV().Get(kvKey, q)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := fail(fmt.Errorf("read lock %s: %w", kvKey, err)); err != nil {
				return nil, err
			}
			continue
		}
		if failing {
			log.Info().Msg("consul reachable again")
			failing = false
		}
		backoff = 0
		if meta.LastIndex < index {
			index = 0 // the agent's index went back: it restarted
		} else {
			index = meta.LastIndex
		}
		if pair != nil && pair.Session != "" {
			continue // held: block until it changes
		}
		lease, err := l.try(ctx, kvKey, key)
		switch {
		case errors.Is(err, ErrBadLockOption):
			log.Error().Err(err).Msg("cannot acquire the lock")
			return nil, err
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := fail(err); err != nil {
				return nil, err
			}
			index = 0
		case lease != nil:
			log.Debug().Uint64("token", lease.token).Str("session", lease.session).Str("previous", lease.previous).Msg("lock acquired")
			return lease, nil
		default:
			// Refused: a lock-delay, or another holder was faster.
			index = 0
			if err := pause(lockRetry); err != nil {
				return nil, err
			}
		}
	}
}

// try creates a session and acquires kvKey with it, reading the pair in
// the same transaction before (for the previous holder, which the pair's
// value names) and after (for the fencing token). It returns (nil, nil)
// when Consul refused the lock, and the lease when it holds it.
func (l *Locker) try(ctx context.Context, kvKey, key string) (*lease, error) {
	sent := time.Now()
	// One bound for both requests: past it, the lease would be lost at
	// once (its renew deadline counts from sent).
	ctx, cancel := context.WithTimeout(ctx, l.requestTimeout())
	defer cancel()
	wo := (&api.WriteOptions{}).WithContext(ctx)
	// No node checks: with Consul's default serfHealth check, a holder
	// whose local agent is marked failed loses the session at once, before
	// its renew deadline has told it, and another node could take the key
	// while this one still runs its child. Only the TTL expires it.
	//
	// consul/api leaves out a zero lock-delay, which the servers read as
	// their 15 s default: 1 ns goes out as Consul's smallest, 1 ms.
	delay := l.cfg.delay
	if delay == 0 {
		delay = time.Nanosecond
	}
	sid, _, err := l.client.Session().CreateNoChecks(&api.SessionEntry{
		Name: l.cfg.holder, TTL: l.cfg.ttl.String(), LockDelay: delay,
		Behavior: api.SessionBehaviorRelease,
	}, wo)
	if err != nil {
		var se api.StatusError
		if errors.As(err, &se) && strings.Contains(se.Body, "Invalid Session TTL") {
			// Outside the servers' session_ttl_min and session_ttl_max:
			// trying again cannot help.
			return nil, fmt.Errorf("%w: consul refuses the TTL %v: %s", ErrBadLockOption, l.cfg.ttl, strings.TrimSpace(se.Body))
		}
		return nil, fmt.Errorf("create consul session for %s: %w", kvKey, err)
	}
	ops := api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVGetOrEmpty, Key: kvKey}},
		{KV: &api.KVTxnOp{Verb: api.KVLock, Key: kvKey, Value: []byte(l.cfg.holder), Flags: lockFlags, Session: sid}},
		{KV: &api.KVTxnOp{Verb: api.KVGet, Key: kvKey}},
	}
	ok, resp, _, err := l.client.Txn().Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil || !ok || resp == nil || len(resp.Results) != 3 || resp.Results[2].KV == nil {
		l.destroy(sid)
		if err != nil {
			return nil, fmt.Errorf("acquire %s in consul: %w", kvKey, err)
		}
		return nil, nil
	}
	pair := resp.Results[2].KV
	previous := ""
	if before := resp.Results[0].KV; before != nil && string(before.Value) != l.cfg.holder {
		previous = string(before.Value)
	}
	le := &lease{l: l, key: key, kvKey: kvKey, session: sid, token: pair.ModifyIndex, previous: previous,
		lost: make(chan struct{}), done: make(chan struct{}), release: make(chan struct{})}
	le.renewed.Store(&sent)
	lctx, cancel := context.WithCancel(context.Background())
	le.cancel = cancel
	go le.run(lctx)
	return le, nil
}

// destroy ends a session, best effort, within a short bound.
func (l *Locker) destroy(sid string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = l.client.Session().Destroy(sid, (&api.WriteOptions{}).WithContext(ctx))
}

// lease is a held lock: one owner goroutine (run) decides, helped by a
// renewer and a monitor goroutine that report to it.
type lease struct {
	l        *Locker
	key      string
	kvKey    string
	session  string
	token    uint64
	previous string

	// renewed is the send time of the last renewal Consul confirmed (at
	// first: of the session's creation), with its monotonic reading.
	renewed atomic.Pointer[time.Time]
	ended   atomic.Bool

	mu  sync.Mutex
	err error

	lost        chan struct{} // closed when the lease ends
	release     chan struct{} // closed by Release
	releaseOnce sync.Once
	releaseErr  error         // Consul's answer to the first Release
	done        chan struct{} // closed when run has returned
	cancel      context.CancelFunc
}

var _ cluster.Lease = (*lease)(nil)

func (le *lease) Key() string           { return le.key }
func (le *lease) Token() uint64         { return le.token }
func (le *lease) Previous() string      { return le.previous }
func (le *lease) Lost() <-chan struct{} { return le.lost }

func (le *lease) Err() error {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.err
}

// Held is true while the lease has not ended and its renew deadline has
// not passed by either clock.
func (le *lease) Held() bool {
	return !le.ended.Load() && sinceRenewal(le.renewed.Load(), time.Now()) < le.l.renewDeadline()
}

// sinceRenewal is the time from the last renewal to now by the monotonic
// clock or the wall clock, whichever is longer. Linux's monotonic clock
// runs on while a process is stopped (SIGSTOP) but not while the machine
// sleeps; the wall clock covers that.
func sinceRenewal(renewed *time.Time, now time.Time) time.Duration {
	return max(now.Sub(*renewed), now.Round(0).Sub(renewed.Round(0)))
}

// end records why the lease ended and closes Lost, once.
func (le *lease) end(err error) {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.err != nil {
		return
	}
	le.err = err
	le.ended.Store(true)
	close(le.lost)
}

type renewResult struct {
	sent  time.Time
	err   error
	found bool
}

// run owns the lease: it ends it when the renew deadline passes, when
// Consul says the session is gone, or when the pair is no longer the
// session's; and on Release.
func (le *lease) run(ctx context.Context) {
	defer close(le.done)
	log := le.l.log.With().Str("key", le.kvKey).Uint64("token", le.token).Logger()
	var wg sync.WaitGroup
	renews := make(chan renewResult)
	monitor := make(chan error, 1)
	wg.Add(2)
	go func() { defer wg.Done(); le.renewer(ctx, renews) }()
	go func() { defer wg.Done(); le.monitor(ctx, monitor) }()
	defer wg.Wait()
	defer le.cancel()

	deadline := le.l.renewDeadline()
	timer := time.NewTimer(deadline - sinceRenewal(le.renewed.Load(), time.Now()))
	defer timer.Stop()
	failing := false
	for {
		var (
			res     renewResult
			gotRes  bool
			lostErr error
		)
		select {
		case <-le.release:
			le.end(cluster.ErrLeaseReleased)
			return
		case <-timer.C:
		case res = <-renews:
			gotRes = true
		case lostErr = <-monitor:
		}
		// The deadline comes first: after a freeze, whatever woke the loop,
		// the lease is given up before anything else is looked at.
		if since := sinceRenewal(le.renewed.Load(), time.Now()); since >= deadline {
			log.Warn().Dur("since_renewal", since).Dur("deadline", deadline).Msg("lease lost: session not renewed within the deadline")
			le.end(fmt.Errorf("%w: %s: session not renewed for %v (deadline %v)", cluster.ErrLeaseLost, le.kvKey, since.Round(time.Millisecond), deadline))
			return
		}
		switch {
		case lostErr != nil:
			log.Warn().Err(lostErr).Msg("lease lost")
			le.end(lostErr)
			return
		case gotRes && res.err != nil:
			if !failing {
				log.Warn().Err(res.err).Msg("consul unreachable: cannot renew the session")
				failing = true
			}
		case gotRes && !res.found:
			log.Warn().Msg("lease lost: consul no longer knows the session")
			le.end(fmt.Errorf("%w: %s: session %s invalidated", cluster.ErrLeaseLost, le.kvKey, le.session))
			return
		case gotRes:
			if failing {
				log.Info().Msg("session renewed again")
				failing = false
			}
			if res.sent.After(*le.renewed.Load()) {
				sent := res.sent
				le.renewed.Store(&sent)
			}
		}
		timer.Reset(max(deadline-sinceRenewal(le.renewed.Load(), time.Now()), 0))
	}
}

// renewer renews the session every renew interval, each try bounded by
// that interval, and reports every result.
func (le *lease) renewer(ctx context.Context, out chan<- renewResult) {
	every := le.l.renewInterval()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, every)
		entry, _, err := le.l.client.Session().Renew(le.session, (&api.WriteOptions{}).WithContext(rctx))
		cancel()
		if ctx.Err() != nil {
			return
		}
		r := renewResult{sent: sent, err: err, found: entry != nil}
		if err != nil {
			r.err = fmt.Errorf("renew consul session %s: %w", le.session, err)
		}
		select {
		case out <- r:
		case <-ctx.Done():
			return
		}
	}
}

// monitor watches the lock pair with consistent blocking queries and
// reports once when the pair is gone or held by another session.
func (le *lease) monitor(ctx context.Context, out chan<- error) {
	var (
		index   uint64
		backoff time.Duration
	)
	for ctx.Err() == nil {
		qctx, cancel := context.WithTimeout(ctx, le.l.queryTimeout())
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: le.l.cfg.waitTime, RequireConsistent: true}).WithContext(qctx)
		pair, meta, err := le.l.client.KV().Get(le.kvKey, q)
		cancel()
		if err != nil {
			backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		backoff = 0
		if pair == nil || pair.Session != le.session {
			holder := ""
			if pair != nil {
				holder = pair.Session
			}
			out <- fmt.Errorf("%w: %s: the pair is no longer held by session %s (now %q)", cluster.ErrLeaseLost, le.kvKey, le.session, holder)
			return
		}
		if meta.LastIndex < index {
			index = 0
		} else {
			index = meta.LastIndex
		}
	}
}

// Release stops renewing, then, if the session may still hold the pair,
// releases the pair (no lock-delay) and destroys the session. It waits
// for the lease's goroutines and returns Consul's error, if any.
func (le *lease) Release(ctx context.Context) error {
	le.releaseOnce.Do(func() {
		close(le.release)
		<-le.done
		le.releaseErr = le.giveUp(ctx)
	})
	return le.releaseErr
}

// giveUp releases the pair and destroys the session.
func (le *lease) giveUp(ctx context.Context) error {
	var errs []error
	wo := (&api.WriteOptions{}).WithContext(ctx)
	// The value (the holder's name) stays: the next holder reads it as
	// its Previous.
	pair := &api.KVPair{Key: le.kvKey, Session: le.session, Flags: lockFlags, Value: []byte(le.l.cfg.holder)}
	if _, _, err := le.l.client.KV().Release(pair, wo); err != nil {
		errs = append(errs, fmt.Errorf("release %s in consul: %w", le.kvKey, err))
	}
	if _, err := le.l.client.Session().Destroy(le.session, wo); err != nil {
		errs = append(errs, fmt.Errorf("destroy consul session %s: %w", le.session, err))
	}
	return errors.Join(errs...)
}
