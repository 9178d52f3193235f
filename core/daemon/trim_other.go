//go:build !linux

package daemon

func trimMappedBinary() {}
