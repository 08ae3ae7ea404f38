//go:build tools

// Package consul pins the Consul agent that Arbor's integration tests run.
// It is a separate module so Arbor's own module does not depend on Consul.
package consul

import _ "github.com/hashicorp/consul"
