package consul

import "errors"

// ErrBadSelf is returned by Start when the node's name carries no usable
// host:port.
var ErrBadSelf = errors.New("consul: node name has no host:port")

// ErrBadLockOption is returned by NewLocker for a TTL, lock-delay or wait
// time out of range, and by Acquire for an empty key.
var ErrBadLockOption = errors.New("consul: bad lock option")
