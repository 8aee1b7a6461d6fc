// Package jobs turns a command line into work: the connector registry, job
// configuration and its validation, secrets, the run id and the time
// window. It wires sources, rules and sinks into a pipeline; it never talks
// HTTP or writes bytes itself.
//
// # Errors
//
// Errors that mean "the invocation or configuration is wrong, retrying
// cannot help" wrap ErrUsage; cmd/export maps them to exit code 2.
package jobs

import "errors"

// ErrUsage marks a usage or configuration error (exit code 2).
var ErrUsage = errors.New("usage error")
