//go:build !linux

package main

// runChildIfAsked: the child-process tests run on Linux only.
func runChildIfAsked() {}
