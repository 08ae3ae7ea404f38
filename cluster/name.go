package cluster

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// splitNodeName splits name@host:port into its short name and address. It
// returns ErrBadNodeName unless name and host are non-empty, the port is
// a number in 1..65535 and the host is not a wildcard address (0.0.0.0,
// ::).
func splitNodeName(node string) (name, addr string, err error) {
	at := strings.LastIndexByte(node, '@')
	if at <= 0 || at == len(node)-1 {
		return "", "", fmt.Errorf("%w: %q", ErrBadNodeName, node)
	}
	name, addr = node[:at], node[at+1:]
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return "", "", fmt.Errorf("%w: %q", ErrBadNodeName, node)
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return "", "", fmt.Errorf("%w: %q: %s is a wildcard address, which no peer can reach", ErrBadNodeName, node, host)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", "", fmt.Errorf("%w: %q: bad port", ErrBadNodeName, node)
	}
	return name, addr, nil
}

// NodeAddr returns the host:port part of a node name name@host:port. It
// returns ErrBadNodeName for any other form.
func NodeAddr(node string) (string, error) {
	_, addr, err := splitNodeName(node)
	return addr, err
}
