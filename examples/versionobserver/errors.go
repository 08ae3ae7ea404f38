package main

import "errors"

var (
	// ErrBadVersion is returned for a version that is not
	// major.minor.patch with three decimal numbers.
	ErrBadVersion = errors.New("versionobserver: malformed version")
	// ErrNoCluster is returned by Start when the application is given no
	// cluster or no registry.
	ErrNoCluster = errors.New("versionobserver: no cluster")
	// ErrBadFlag is returned for a command line that cannot run.
	ErrBadFlag = errors.New("versionobserver: bad flag")
)
