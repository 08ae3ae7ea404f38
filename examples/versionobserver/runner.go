package main

import (
	"fmt"
	"sort"

	"github.com/arbor-otp/arbor/examples/versionobserver/internal/versionpb"
)

// Verdicts of one check of the cluster (the seed's Runner results).
const (
	// VerdictPending: some node did not answer (still starting, or just
	// gone); the monitor checks again after its retry delay.
	VerdictPending = "pending"
	// VerdictOutOfSync: the nodes run different versions, a deployment is
	// under way; the monitor waits for the next topology change.
	VerdictOutOfSync = "out_of_sync"
	// VerdictIncomplete: the nodes agree, but fewer answered than the
	// cluster is expected to hold (a node is down, or being replaced);
	// the monitor waits for the next topology change.
	VerdictIncomplete = "incomplete"
	// VerdictAgreed: every node runs the same version.
	VerdictAgreed = "agreed"
)

// judgement is what a check of every node's repo found.
type judgement struct {
	verdict string
	// version is the version all nodes run (VerdictAgreed only).
	version Version
	// record is the cluster version recorded on the repos with the
	// highest epoch, if any repo holds one.
	record *versionpb.Agreed
	// versions lists node=version for the log.
	versions []string
}

// judge is the runner (the seed's Runner.run after its multi-call): from
// the repos' replies, keyed by node, and the nodes that did not answer,
// it tells whether the cluster agrees on a version: all nodes that
// answered, and at least expect of them. A reply that is not a
// VersionInfo, or holds a malformed version, counts as no answer.
func judge(replies map[string]any, bad []string, expect int) judgement {
	var j judgement
	distinct := map[Version]bool{}
	pending := len(bad) > 0
	for node, r := range replies {
		info, ok := r.(*versionpb.VersionInfo)
		if !ok {
			pending = true
			continue
		}
		v, err := ParseVersion(info.GetVersion())
		if err != nil {
			pending = true
			continue
		}
		distinct[v] = true
		j.versions = append(j.versions, fmt.Sprintf("%s=%s", node, v))
		if info.GetClusterVersion() != "" && (j.record == nil || info.GetEpoch() > j.record.GetEpoch()) {
			j.record = &versionpb.Agreed{Version: info.GetClusterVersion(), Epoch: info.GetEpoch()}
		}
	}
	sort.Strings(j.versions)
	switch {
	case pending || len(distinct) == 0:
		j.verdict = VerdictPending
	case len(distinct) > 1:
		j.verdict = VerdictOutOfSync
	case len(replies) < expect:
		j.verdict = VerdictIncomplete
	default:
		j.verdict = VerdictAgreed
		for v := range distinct {
			j.version = v
		}
	}
	return j
}
