package consul

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/cluster"
)

// metaNode is the service metadata key holding the node name.
const metaNode = "arbor-node"

// Defaults.
const (
	DefaultService         = "arbor"
	DefaultTTL             = 3 * time.Second
	DefaultDeregisterAfter = time.Minute
	DefaultWaitTime        = 5 * time.Second
	maxBackoff             = 5 * time.Second
)

// Option configures a Provider.
type Option func(*config)

type config struct {
	address         string
	service         string
	ttl             time.Duration
	deregisterAfter time.Duration
	waitTime        time.Duration
	logger          *zerolog.Logger
}

// WithAddress sets the Consul agent's HTTP address (default: the
// CONSUL_HTTP_ADDR environment variable, else 127.0.0.1:8500).
func WithAddress(addr string) Option { return func(c *config) { c.address = addr } }

// WithService sets the Consul service name the nodes of one cluster share
// (default "arbor").
func WithService(name string) Option { return func(c *config) { c.service = name } }

// WithTTL sets the TTL of the node's health check (default 3 s); the node
// refreshes it every TTL/3.
func WithTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// WithDeregisterAfter sets how long a node's check may stay critical before
// Consul removes the registration (default 1 min).
func WithDeregisterAfter(d time.Duration) Option { return func(c *config) { c.deregisterAfter = d } }

// WithWaitTime sets the longest wait of one blocking query (default 5 s).
func WithWaitTime(d time.Duration) Option { return func(c *config) { c.waitTime = d } }

// WithLogger sets the provider's logger (default: info to stderr).
func WithLogger(l zerolog.Logger) Option { return func(c *config) { c.logger = &l } }

// Provider is a cluster.Provider on Consul. Create it with New and hand it
// to cluster.WithProvider; the cluster calls Start and Stop.
type Provider struct {
	cfg    config
	client *api.Client
	log    zerolog.Logger

	self, id, checkID string
	host              string
	port              int

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ cluster.Provider = (*Provider)(nil)

// New returns a provider; it contacts Consul only in Start.
func New(opts ...Option) *Provider {
	cfg := config{service: DefaultService, ttl: DefaultTTL, deregisterAfter: DefaultDeregisterAfter, waitTime: DefaultWaitTime}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.logger == nil {
		l := zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger()
		cfg.logger = &l
	}
	return &Provider{cfg: cfg, log: cfg.logger.With().Str("component", "consul").Logger()}
}

// Start registers the node and starts the TTL updates and the watch. It
// returns ErrBadSelf for a name without host:port, and the error of the
// first registration (Consul unreachable, rejected): a node does not start
// without its membership.
func (p *Provider) Start(ctx context.Context, self string, report func([]string)) error {
	addr, err := cluster.NodeAddr(self)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSelf, err)
	}
	host, portStr, _ := net.SplitHostPort(addr)
	p.port, _ = strconv.Atoi(portStr)
	p.host, p.self, p.id, p.checkID = host, self, self, "arbor-ttl:"+self
	p.log = p.log.With().Str("node", self).Logger()
	cc := api.DefaultConfig()
	if p.cfg.address != "" {
		cc.Address = p.cfg.address
	}
	p.client, err = api.NewClient(cc)
	if err != nil {
		return fmt.Errorf("consul client: %w", err)
	}
	if err := p.register(ctx); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(2)
	go p.keepAlive(lctx)
	go p.watch(lctx, report)
	return nil
}

// register registers the service instance and marks its check passing.
func (p *Provider) register(ctx context.Context) error {
	reg := &api.AgentServiceRegistration{
		ID: p.id, Name: p.cfg.service, Address: p.host, Port: p.port,
		Meta: map[string]string{metaNode: p.self},
		Check: &api.AgentServiceCheck{
			CheckID: p.checkID, TTL: p.cfg.ttl.String(),
			DeregisterCriticalServiceAfter: p.cfg.deregisterAfter.String(),
		},
	}
	opts := api.ServiceRegisterOpts{}.WithContext(ctx)
	if err := p.client.Agent().ServiceRegisterOpts(reg, opts); err != nil {
		return fmt.Errorf("register %s in consul: %w", p.id, err)
	}
	if err := p.client.Agent().UpdateTTLOpts(p.checkID, "", api.HealthPassing, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("pass check %s in consul: %w", p.checkID, err)
	}
	return nil
}

// keepAlive refreshes the TTL check, registering again when the agent
// forgot the node.
func (p *Provider) keepAlive(ctx context.Context) {
	defer p.wg.Done()
	tick := time.NewTicker(p.cfg.ttl / 3)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := p.client.Agent().UpdateTTLOpts(p.checkID, "", api.HealthPassing, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil && ctx.Err() == nil {
			// The agent may have restarted and lost the registration.
			err = p.register(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			p.log.Warn().Err(err).Msg("consul unreachable: cannot keep the node registered")
			failing = true
		case err == nil && failing:
			p.log.Info().Msg("node registered in consul again")
			failing = false
		}
	}
}

// watch follows the passing instances of the service with blocking
// queries and reports each change of the node list.
func (p *Provider) watch(ctx context.Context, report func([]string)) {
	defer p.wg.Done()
	var (
		index   uint64
		last    []string
		backoff time.Duration
		failing bool
	)
	for ctx.Err() == nil {
		q := (&api.QueryOptions{WaitIndex: index, WaitTime: p.cfg.waitTime}).WithContext(ctx)
		entries, meta, err := p.client.Health().Service(p.cfg.service, "", true, q)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				p.log.Warn().Err(err).Strs("members", last).Msg("consul unreachable: keeping the last view of the members")
				failing = true
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		if failing {
			p.log.Info().Msg("consul reachable again")
			failing = false
		}
		backoff = 0
		if meta.LastIndex < index {
			index = 0 // the agent's index went back: it restarted
		} else {
			index = meta.LastIndex
		}
		members := make([]string, 0, len(entries))
		for _, e := range entries {
			if n := e.Service.Meta[metaNode]; n != "" {
				members = append(members, n)
			}
		}
		slices.Sort(members)
		members = slices.Compact(members)
		if last == nil || !slices.Equal(members, last) {
			last = members
			p.log.Debug().Strs("members", members).Msg("members changed")
			report(slices.Clone(members))
		}
	}
}

// Stop ends the TTL updates and the watch and deregisters the node. It
// returns the deregistration's error (the node then turns critical after
// the TTL and is removed later).
func (p *Provider) Stop(ctx context.Context) error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	p.wg.Wait()
	if err := p.client.Agent().ServiceDeregisterOpts(p.id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("deregister %s from consul: %w", p.id, err)
	}
	return nil
}
