package consul

import "errors"

// ErrBadSelf is returned by Start when the node's name carries no usable
// host:port.
var ErrBadSelf = errors.New("consul: node name has no host:port")
