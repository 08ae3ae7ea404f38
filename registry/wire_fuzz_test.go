package registry

import (
	"io"
	"testing"

	"github.com/rs/zerolog"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// FuzzDecodeScopeMessage feeds arbitrary bytes to the decoder of the
// replication messages a scope process receives from other nodes: it
// never panics, and what it accepts holds only entries of the sender's
// node, which is not this one. The hand decoder of Changes messages
// accepts only what the generated code accepts and decodes it alike.
func FuzzDecodeScopeMessage(f *testing.F) {
	peer := actor.NewNode(actor.WithNodeName("peer@127.0.0.1:1"), actor.WithLogger(zerolog.New(io.Discard)))
	defer func() { _ = peer.Stop(f.Context()) }()
	pid, err := peer.Spawn(actor.ReceiverFunc(func(*actor.Context, any) error { return nil }))
	if err != nil {
		f.Fatal(err)
	}
	wire := cluster.MarshalPID(pid)
	meta, _ := anypb.New(wrapperspb.String("m"))
	seeds := []*registrypb.ScopeMessage{
		{Version: 1, Scope: "s", From: wire, Body: &registrypb.ScopeMessage_Discover{Discover: &registrypb.Discover{Ask: 3, Start: true}}},
		{Version: 1, Scope: "s", From: wire, Session: 3, Seq: 1, Body: &registrypb.ScopeMessage_Snapshot{Snapshot: &registrypb.Snapshot{
			Names:   []*registrypb.Name{{Name: "n", Pid: wire, Meta: meta, Time: 5}},
			Members: []*registrypb.Member{{Group: "g", Pid: wire}}, Last: true}}},
		{Version: 1, Scope: "s", From: wire, Session: 3, Seq: 2, Body: &registrypb.ScopeMessage_Registered{Registered: &registrypb.Registered{
			Entry: &registrypb.Name{Name: "n", Pid: wire}, Reason: &registrypb.Reason{Kind: registrypb.Reason_PROCESS_EXIT, Exit: "boom"}}}},
		{Version: 1, Scope: "s", From: wire, Session: 3, Seq: 3, Body: &registrypb.ScopeMessage_Unregistered{Unregistered: &registrypb.Unregistered{Name: "n", Pid: wire}}},
		{Version: 1, Scope: "s", From: wire, Session: 3, Seq: 4, Body: &registrypb.ScopeMessage_Left{Left: &registrypb.Left{Group: "g", Pid: wire}}},
		{Version: 1, Scope: "s", From: wire, Session: 3, Seq: 5, Body: &registrypb.ScopeMessage_Changes{Changes: &registrypb.Changes{
			Changes: []*registrypb.Change{
				{Change: &registrypb.Change_Joined{Joined: &registrypb.Joined{Entry: &registrypb.Member{Group: "g", Pid: wire, Meta: meta}}}},
				{Change: &registrypb.Change_Unregistered{Unregistered: &registrypb.Unregistered{Name: "n", Pid: wire,
					Reason: &registrypb.Reason{Kind: registrypb.Reason_CONFLICT_RESOLUTION}}}},
			}}}},
		{Version: 2, Scope: "s", From: wire},
	}
	// Changes as the scope process sends them: hand-encoded, as unknown
	// fields of the message.
	var enc changeEncoder
	hand, _ := enc.appendEntryChange(nil, fChangeRegistered, "n", pid, wrapperspb.String("m"), 7, Normal{})
	hand, _ = enc.appendEntryChange(hand, fChangeJoined, "g", pid, nil, 0, ProcessExit{Err: actor.Killed})
	hand = enc.appendKeyChange(hand, fChangeUnregistered, "n", pid, ProcessExit{Err: errExitUnknown})
	hand = enc.appendKeyChange(hand, fChangeLeft, "g", pid, ConflictResolution{})
	hand = enc.appendExited(hand, pid, Undefined{})
	sent := &registrypb.ScopeMessage{Version: 1, Scope: "s", From: wire, Session: 3, Seq: 6}
	sent.ProtoReflect().SetUnknown(protoreflect.RawFields(changesBody(hand)))
	seeds = append(seeds, sent)
	for _, m := range seeds {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The hand decoder takes only what the generated code takes, and
		// decodes it alike (wiredecode.go).
		checkBothWays(t, b, false)
		var m registrypb.ScopeMessage
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		d, err := decodeMessage(&m, "s", "self@127.0.0.1:2")
		if err != nil {
			return
		}
		if d.node == "self@127.0.0.1:2" || d.from.NodeName() != d.node {
			t.Fatalf("accepted a message from %v as node %s", d.from, d.node)
		}
		for _, n := range d.names {
			if n.pid.NodeName() != d.node || n.name == "" {
				t.Fatalf("accepted name %q of %v from %s", n.name, n.pid, d.node)
			}
			_ = metaEqual(n.meta, n.meta)
		}
		for _, mm := range d.members {
			if mm.pid.NodeName() != d.node || mm.group == "" {
				t.Fatalf("accepted member %q of %v from %s", mm.group, mm.pid, d.node)
			}
		}
		for _, c := range d.changes {
			if c.kind != chExited && c.pid.NodeName() != d.node {
				t.Fatalf("accepted a change about another node than %s: %+v", d.node, c)
			}
			_ = decodeReason(c.reason).String()
		}
	})
}
