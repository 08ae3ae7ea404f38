package main

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
	"github.com/arbor-otp/arbor/registry"
)

// MonitorKey is the singleton key of the version monitor.
const MonitorKey = "version-monitor"

// Delays of the monitor; DefaultSettle is the time a burst of topology
// messages is gathered into one check, DefaultRetry the wait before a
// check is repeated because a node did not answer, DefaultCallTimeout the
// time every repo has to answer a check.
const (
	DefaultSettle      = 200 * time.Millisecond
	DefaultRetry       = 500 * time.Millisecond
	DefaultCallTimeout = 2 * time.Second
)

// monitor is the version monitor (the seed's Version.Monitor): one per
// cluster. On each topology message it multi-calls every node's repo,
// through judge, and publishes a NewVersion on BrowsersGroup when all
// nodes agree on a version whose major differs from the cluster version
// it starts from or last agreed on.
type monitor struct {
	cluster *cluster.Cluster
	reg     *registry.Registry
	settle  time.Duration
	retry   time.Duration
	timeout time.Duration
	// expect is the number of nodes the cluster holds when no node is
	// missing: fewer agreeing nodes are not the cluster agreeing.
	expect int
}

type monitorState struct {
	// current is the cluster version the monitor starts from or last
	// agreed on; known is false until it has one.
	current Version
	known   bool
	epoch   uint64
	// timer is the pending check, nil when none is.
	timer *actor.Timer

	verdict                     string
	checks, announced, topology uint64
}

// checkNow is the timer's message: run the check.
type checkNow struct{}

// Init joins the topology group and schedules a first check, which finds
// the cluster's current version: from the repos' record if a previous
// monitor left one, else from what the nodes run.
func (m monitor) Init(ctx *actor.Context) (*monitorState, error) {
	jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := m.reg.Join(jctx, Scope, TopologyGroup, ctx.Self(), nil); err != nil {
		return nil, fmt.Errorf("version monitor: join %s: %w", TopologyGroup, err)
	}
	s := &monitorState{verdict: "not checked yet"}
	m.schedule(ctx, s, 0)
	ctx.Logger().Info().Str("node", m.cluster.Name()).Msg("version monitor started")
	return s, nil
}

// schedule arms the check timer unless a check is already pending: a
// burst of topology messages is checked once.
func (m monitor) schedule(ctx *actor.Context, s *monitorState, d time.Duration) {
	if s.timer == nil {
		s.timer = ctx.SendAfter(ctx.Self(), checkNow{}, d)
	}
}

func (m monitor) HandleInfo(ctx *actor.Context, msg any, s *monitorState) behaviour.Result[*monitorState] {
	switch msg.(type) {
	case *versionpb.Topology:
		s.topology++
		m.schedule(ctx, s, m.settle)
	case checkNow:
		s.timer = nil
		m.check(ctx, s)
	default:
		ctx.Logger().Warn().Str("type", fmt.Sprintf("%T", msg)).Msg("version monitor: unexpected message")
	}
	return behaviour.NoReply(s)
}

func (m monitor) HandleCall(_ *actor.Context, _ behaviour.From, req any, s *monitorState) behaviour.Result[*monitorState] {
	if _, ok := req.(*versionpb.GetStatus); !ok {
		return behaviour.Reply(fmt.Errorf("version monitor: unknown request %T", req), s)
	}
	st := &versionpb.MonitorStatus{
		Node: m.cluster.Name(), Verdict: s.verdict,
		Checks: s.checks, Announced: s.announced, Topology: s.topology,
	}
	if s.known {
		st.ClusterVersion = s.current.String()
	}
	return behaviour.Reply(st, s)
}

// check multi-calls every node's repo and acts on the verdict.
func (m monitor) check(ctx *actor.Context, s *monitorState) {
	s.checks++
	nodes := append(m.cluster.Nodes(), m.cluster.Name())
	cctx, cancel := context.WithTimeout(ctx, m.timeout)
	replies, bad := m.cluster.MultiCall(cctx, nodes, RepoName, &versionpb.GetVersion{})
	cancel()
	j := judge(replies, bad, m.expect)
	s.verdict = j.verdict
	log := ctx.Logger().With().Str("verdict", j.verdict).Strs("versions", j.versions).Strs("bad", bad).Logger()
	if !s.known && j.record != nil {
		// Taking over: start from the version the last monitor recorded.
		if v, err := ParseVersion(j.record.GetVersion()); err == nil {
			s.current, s.known, s.epoch = v, true, j.record.GetEpoch()
			log.Info().Str("from", v.String()).Msg("version monitor: starts from the recorded cluster version")
		}
	}
	if s.known && j.verdict != VerdictAgreed {
		// Keep the record on every node that answered, those that joined
		// since the last agreement among them: once the old nodes of a
		// deploy are gone, the new ones must still know where it began.
		m.record(ctx, answered(replies), &versionpb.Agreed{Version: s.current.String(), Epoch: s.epoch})
	}
	switch j.verdict {
	case VerdictPending:
		log.Debug().Dur("retry", m.retry).Msg("version monitor: not every node answered")
		m.schedule(ctx, s, m.retry)
		return
	case VerdictOutOfSync:
		log.Info().Msg("version monitor: deployment under way, waiting for the next topology change")
		return
	case VerdictIncomplete:
		log.Info().Int("expect", m.expect).Msg("version monitor: nodes missing, waiting for the next topology change")
		return
	}
	if !s.known {
		if len(replies) < 2 {
			// Alone, and no record: this node may not have met the
			// others yet, so what it runs says nothing of the cluster.
			log.Debug().Msg("version monitor: alone and no recorded cluster version; waiting for peers")
			return
		}
		// A new cluster: what it runs is its current version, not news.
		s.current, s.known = j.version, true
		log.Info().Str("version", j.version.String()).Msg("version monitor: a new cluster; its version is the current one")
	} else if s.current.Incompatible(j.version) {
		if missing := m.hubsMissing(replies); len(missing) > 0 {
			// A node that has just come up answers before its hub's
			// membership has reached this node: wait for it, or its
			// browsers would never hear of the new version.
			s.verdict = VerdictPending
			log.Debug().Strs("missing", missing).Msg("version monitor: waiting for the hubs of every node")
			m.schedule(ctx, s, m.retry)
			return
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := m.reg.Publish(pctx, Scope, BrowsersGroup, &versionpb.NewVersion{Version: j.version.String()})
		cancel()
		if err != nil {
			log.Error().Err(err).Msg("version monitor: publish new_version")
		} else {
			s.announced++
			log.Info().Str("from", s.current.String()).Str("to", j.version.String()).Int("hubs", n).Msg("version monitor: new_version")
		}
	}
	if s.current != j.version || s.epoch == 0 {
		s.current = j.version
		s.epoch++
	}
	m.record(ctx, nodes, &versionpb.Agreed{Version: s.current.String(), Epoch: s.epoch})
}

// hubsMissing lists the nodes among replies that have no hub on
// BrowsersGroup yet, as this node sees the group.
func (m monitor) hubsMissing(replies map[string]any) []string {
	members, err := m.reg.Members(Scope, BrowsersGroup)
	if err != nil {
		return []string{err.Error()}
	}
	has := map[string]bool{}
	for _, mb := range members {
		has[mb.PID.NodeName()] = true
	}
	var missing []string
	for n := range replies {
		if !has[n] {
			missing = append(missing, n)
		}
	}
	return missing
}

// answered lists the nodes of replies.
func answered(replies map[string]any) []string {
	out := make([]string, 0, len(replies))
	for n := range replies {
		out = append(out, n)
	}
	return out
}

// record casts the agreed version to every node's repo.
func (m monitor) record(ctx *actor.Context, nodes []string, a *versionpb.Agreed) {
	for _, n := range nodes {
		if err := m.cluster.CastNamed(n, RepoName, a); err != nil {
			ctx.Logger().Warn().Err(err).Str("to", n).Msg("version monitor: record the cluster version")
		}
	}
}
