package sys

import (
	"context"
	"io"
	"testing"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/sys/internal/syspb"
)

type fuzzServer struct{}

func (fuzzServer) Init(*actor.Context) (*wrapperspb.Int64Value, error) {
	return wrapperspb.Int64(0), nil
}

// FuzzDecodeSysMessage feeds remote sys's decoders what may come from the
// wire: as a Reply (what a caller decodes: a status, a state, statistics,
// a process listing, application trees, registry scopes) and as a Request
// (what a node's sys server carries out, against a live GenServer). Neither may panic or
// hang; a bad message is an error.
func FuzzDecodeSysMessage(f *testing.F) {
	n := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	f.Cleanup(func() { _ = n.Stop(context.Background()) })
	pid, err := behaviour.Start[*wrapperspb.Int64Value](n, fuzzServer{})
	if err != nil {
		f.Fatal(err)
	}
	state, _ := anypb.New(wrapperspb.Int64(0))
	seeds := []proto.Message{
		&syspb.Request{Pid: cluster.MarshalPID(pid), Op: &syspb.Request_GetStatus{GetStatus: &syspb.GetStatus{}}},
		&syspb.Request{Pid: cluster.MarshalPID(pid), Op: &syspb.Request_ReplaceState{ReplaceState: &syspb.ReplaceState{Expect: state, State: state}}},
		&syspb.Request{Pid: cluster.MarshalPID(pid), Op: &syspb.Request_Trace{Trace: &syspb.Trace{On: true, Limit: 1}}},
		&syspb.Reply{Result: &syspb.Reply_Status{Status: encodeStatus(Status{PID: pid, Links: []actor.PID{pid}, State: wrapperspb.Int64(1)})}},
		&syspb.Reply{Result: &syspb.Reply_Error{Error: &syspb.Error{Kind: syspb.ErrorKind_ERROR_KIND_NOPROC, Text: "x"}}},
		&syspb.Reply{Result: &syspb.Reply_Stats{Stats: &syspb.Stats{MessagesIn: 1}}},
		&syspb.Request{Op: &syspb.Request_ListProcesses{ListProcesses: &syspb.ListProcesses{Order: syspb.Order_ORDER_QUEUE, Limit: 2}}},
		&syspb.Request{Op: &syspb.Request_ApplicationTrees{ApplicationTrees: &syspb.ApplicationTrees{}}},
		&syspb.Request{Op: &syspb.Request_ListScopes{ListScopes: &syspb.ListScopes{Limit: 1}}},
		&syspb.Reply{Result: &syspb.Reply_Processes{Processes: encodeProcessList(ProcessList{Total: 1, List: []ProcessInfo{{PID: pid, Links: []actor.PID{pid}}}})}},
		&syspb.Reply{Result: &syspb.Reply_Trees{Trees: encodeAppTrees([]AppTree{{Name: "a", Tree: TreeNode{PID: pid, Children: []TreeNode{{ID: "c", PID: pid}}}}})}},
		&syspb.Reply{Result: &syspb.Reply_Scopes{Scopes: encodeScopes([]ScopeInfo{{Name: "s", Names: []NameInfo{{Name: "n", PID: pid}}, Groups: []GroupInfo{{Name: "g", Members: []actor.PID{pid}}}}})}},
	}
	for _, m := range seeds {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	s := server{n: n}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rep syspb.Reply
		if proto.Unmarshal(b, &rep) == nil {
			if st := rep.GetStatus(); st != nil {
				_, _ = decodeStatus(st)
			}
			_, _, _ = decodeState(rep.GetState())
			_ = decodeStats(rep.GetStats())
			if e := rep.GetError(); e != nil {
				_ = decodeError(e)
			}
			if pl := rep.GetProcesses(); pl != nil {
				_, _ = decodeProcessList(pl)
			}
			if at := rep.GetTrees(); at != nil {
				_, _ = decodeAppTrees(at)
			}
			if sl := rep.GetScopes(); sl != nil {
				_, _ = decodeScopes(sl)
			}
		}
		var req syspb.Request
		if proto.Unmarshal(b, &req) == nil {
			if out := s.serve(&req); out == nil {
				t.Fatal("no reply")
			}
			// Leave the server running for the next input.
			_ = Resume(context.Background(), n, pid)
			_ = Trace(context.Background(), n, pid, false)
		}
	})
}
