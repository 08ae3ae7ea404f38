package main

import (
	"context"
	"fmt"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
)

// RepoName is the local name of every node's version repo: the monitor
// multi-calls it on each node.
const RepoName = "versionobserver.repo"

// repo is the version repo (the seed's Version.Repo): a GenServer holding
// the version its node's application runs, read from the application's
// spec (its vsn) when it starts. It also keeps the cluster version the
// monitor last recorded, so that a monitor taking over on another node
// starts from it.
type repo struct{}

type repoState struct {
	node    string
	version Version
	agreed  *versionpb.Agreed // nil until the monitor records one
}

// Init reads the application's vsn. A malformed one fails the start with
// an error wrapping ErrBadVersion: the node does not come up.
func (repo) Init(ctx *actor.Context) (*repoState, error) {
	c, err := application.ControllerOf(ctx.Node())
	if err != nil {
		return nil, fmt.Errorf("version repo: find the application controller: %w", err)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.Spec(cctx, Name, application.KeyVsn)
	if err != nil {
		return nil, fmt.Errorf("version repo: read the vsn of %s: %w", Name, err)
	}
	s, _ := v.(string)
	version, err := ParseVersion(s)
	if err != nil {
		return nil, fmt.Errorf("version repo: %w", err)
	}
	return &repoState{node: ctx.Node().Name(), version: version}, nil
}

func (repo) HandleCall(_ *actor.Context, _ behaviour.From, req any, s *repoState) behaviour.Result[*repoState] {
	switch req.(type) {
	case *versionpb.GetVersion:
		info := &versionpb.VersionInfo{Node: s.node, Version: s.version.String()}
		if s.agreed != nil {
			info.ClusterVersion, info.Epoch = s.agreed.Version, s.agreed.Epoch
		}
		return behaviour.Reply(info, s)
	}
	return behaviour.Reply(fmt.Errorf("version repo: unknown request %T", req), s)
}

// HandleCast keeps the monitor's record, unless it already holds a later
// one (a cast from a monitor that has since been replaced).
func (repo) HandleCast(_ *actor.Context, msg any, s *repoState) behaviour.Result[*repoState] {
	if a, ok := msg.(*versionpb.Agreed); ok && (s.agreed == nil || a.Epoch >= s.agreed.Epoch) {
		s.agreed = a
	}
	return behaviour.NoReply(s)
}

// startRepo is the repo's start function in the application's tree.
func startRepo(ctx *actor.Context) (actor.PID, error) {
	return behaviour.StartLink[*repoState](ctx, repo{}, behaviour.WithName(RepoName))
}
