package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed application version, major.minor.patch (the seed's
// Version struct). The zero Version is 0.0.0.
type Version struct {
	Major, Minor, Patch uint64
}

// ParseVersion parses "major.minor.patch", three decimal numbers. Anything
// else is an error wrapping ErrBadVersion that quotes the input.
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("%w %q: want major.minor.patch", ErrBadVersion, s)
	}
	var n [3]uint64
	for i, p := range parts {
		// ParseUint accepts no sign, but "+1" and "" must fail too, and
		// do: neither is a run of digits.
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil || p == "" || p[0] == '+' {
			return Version{}, fmt.Errorf("%w %q: part %d (%q) is not a number", ErrBadVersion, s, i+1, p)
		}
		n[i] = v
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

// String formats v as major.minor.patch.
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Incompatible reports whether v and w differ in their major version:
// what the page's users must reload for.
func (v Version) Incompatible(w Version) bool { return v.Major != w.Major }
