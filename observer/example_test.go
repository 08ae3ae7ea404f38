package observer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/rs/zerolog"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/application"
	"github.com/arbor-otp/arbor/examples/kv"
	"github.com/arbor-otp/arbor/observer"
)

// Mount the observer of a node running the kv application, and read its
// snapshot as JSON, as the page does.
func Example() {
	ctx := context.Background()
	node := actor.NewNode(actor.WithLogger(zerolog.New(io.Discard)))
	defer node.Stop(ctx)
	c, _ := application.NewController(node)
	_ = c.Load(ctx, kv.Spec())
	_, _ = c.EnsureAllStarted(ctx, kv.Name, application.Temporary)

	mux := http.NewServeMux()
	mux.Handle("/observer/", observer.New(node)) // read-only: no WithMutations
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/observer/api/snapshot")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var s observer.Snapshot
	_ = json.NewDecoder(resp.Body).Decode(&s)
	for _, a := range s.Apps {
		fmt.Println(a.Name, a.Tree.Behaviour)
		for _, child := range a.Tree.Children {
			fmt.Println(" ", child.ID, child.Behaviour, child.State)
		}
	}
	fmt.Println("mutations:", s.Mutations)

	kill, _ := http.Post(srv.URL+"/observer/api/kill?pid="+s.Processes.List[0].PID, "", nil)
	kill.Body.Close()
	fmt.Println("kill:", kill.Status)
	// Output:
	// kv supervisor
	//   event_manager gen_event running
	//   bucket_supervisor dynamic_supervisor running
	//   registry gen_server running
	// mutations: false
	// kill: 403 Forbidden
}
