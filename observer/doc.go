// Package observer serves a live page of one node, as OTP's observer
// shows a running system: its applications and their supervision trees
// (restarts shown as they happen), its processes sortable by queue
// length, the scopes of its registry with their names and groups, the
// cluster it belongs to, and the status of any process (package sys).
//
// A Handler is an http.Handler; mount it anywhere, at a path ending in
// "/":
//
//	mux := http.NewServeMux()
//	mux.Handle("/observer/", observer.New(node,
//		observer.WithRegistry(reg),   // optional: registry scopes
//		observer.WithCluster(c)))     // optional: members and sessions
//	srv := &http.Server{Addr: "127.0.0.1:4041", Handler: mux}
//
// The page (HTML, JavaScript and CSS embedded in the binary, no build
// step) opens a server-sent event stream, api/events, and redraws on every
// snapshot the server pushes: one at once, then one each WithInterval in
// which something changed. The same data is served as JSON:
//
//	GET  api/snapshot                 the whole Snapshot
//	GET  api/processes?sort=queue&limit=100   sort by queue, memory, name or pid
//	GET  api/process?pid=<node.12.1>  one process's status (sys.GetStatus), its state printed
//	POST api/kill?pid=...             kill the process (actor.Kill)
//	POST api/suspend?pid=...          sys.Suspend
//	POST api/resume?pid=...           sys.Resume
//	POST api/trace?pid=...&on=true    sys.Trace on or off
//
// # Read-only by default
//
// The POST endpoints change the node. They are off unless the Handler is
// made with WithMutations: then they answer 403 Forbidden with
// ErrMutationsOff, and the page says it is read-only and greys out its
// buttons. They answer 405 to any method but POST, and refuse a request
// from another origin (http.CrossOriginProtection), so a page of another
// site cannot drive them through the user's browser.
//
// The Handler has no authentication. Serve it on a loopback address (the
// kvserver example uses 127.0.0.1:4041), or behind a proxy that
// authenticates: the page shows process states, which may hold user data.
//
// # Errors
//
// Every error answer is JSON, {"error": "..."}: 400 for a malformed pid
// (ErrBadPID) or parameter (ErrBadQuery), 404 for a PID that names no live
// process of the node (ErrNoProcess; a PID of another node says which node
// to open), 405 for a wrong method, 403 for a mutation that is off, 414 for
// a query longer than 1 KiB.
//
// # Clusters
//
// With WithCluster the page lists this node and every node it has a
// session with, and shows any of them (pick any node): api/snapshot,
// api/events and api/processes take node=<name>, and api/process a PID of
// that node; the server reads that node over the cluster with sys's
// listings (sys.Serve on both nodes, sys.ServeRegistry for its scopes),
// polls it each interval and pushes it on the stream. Mutations act on
// this node only. WithPeerURL gives the address of each peer's own
// observer, and the page links to it. A node parameter that names no
// member answers 404 (ErrUnknownNode).
//
// # Guarantees
//
//   - A snapshot is built from one sys snapshot per process (see package
//     sys): it may be stale by the time it is drawn, and is not one
//     consistent picture of the node.
//   - A restart is seen when a child of a supervisor, found by its child
//     ID, runs under a new PID from one snapshot to the next; the children
//     of a restarted supervisor are new, not restarted. Children of a
//     DynamicSupervisor have no ID and are not followed. A child that is
//     restarted twice between two snapshots counts once. Snapshots are
//     built only while a page is open or the API is called.
//   - Each open page costs one snapshot an interval: a system request to
//     every process of the node (processes listed: WithMaxProcesses).
//   - Nothing is started in the background: a stream's work runs on its
//     request's goroutine and ends with the request.
package observer
