// Package jobs turns a command line into work: the connector registry, job
// configuration and its validation, secrets, the run id and the time
// window. It wires sources, rules and sinks into a pipeline; it never talks
// HTTP or writes bytes itself.
//
// # Errors
//
// Every error carries, somewhere in its chain, a value with an
// ExitCode() int method (an *Error or one of the sentinels below); an error
// without one means KindFailed. cmd/export finds it with errors.As:
//
//   - ErrUsage (exit 2): the invocation or configuration is wrong and
//     retrying cannot help. Wrap it: fmt.Errorf("%w: --dest: …", ErrUsage).
//     Run also returns errors of this kind for sources.ErrConfig and
//     sinks.ErrConfig, the classes the sources and sinks map their services'
//     answers into.
//   - ErrPartial (exit 3): some owners failed; the others are committed.
//   - ErrHelp (exit 0): help was printed on request.
//
// errors.Is(err, ErrUsage) holds for any error of kind KindUsage, however it
// was made (likewise ErrPartial and ErrHelp).
package jobs

import (
	"errors"
	"fmt"

	"m365export/pipeline"
	"m365export/sinks"
	"m365export/sources"
)

// Kind is what an error tells the caller to do, as the process exit code
// that says it.
type Kind int

// The kinds, valued as their exit codes.
const (
	KindHelp    Kind = 0 // help was printed on request: not a failure
	KindFailed  Kind = 1 // the run failed; running it again may succeed
	KindUsage   Kind = 2 // the invocation or configuration is wrong: don't retry
	KindPartial Kind = 3 // some owners failed; what the others read is committed
)

// ExitCode is the process exit code for errors of kind k.
func (k Kind) ExitCode() int { return int(k) }

func (k Kind) String() string {
	switch k {
	case KindHelp:
		return "help requested"
	case KindUsage:
		return "usage error"
	case KindPartial:
		return "some owners failed"
	case KindFailed:
		return "failed"
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Error is an error and its kind. Its text is Err's alone: the kind is for
// the exit code, not the reader.
type Error struct {
	Kind Kind
	Err  error // nil only in the sentinels
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind.String()
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the process exit code for e.
func (e *Error) ExitCode() int { return e.Kind.ExitCode() }

// Is reports whether target is the sentinel of e's kind, so that
// errors.Is(err, ErrUsage) holds for every usage error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Err == nil && t.Kind == e.Kind
}

// The sentinels of the kinds; wrap them with %w.
var (
	// ErrUsage marks a usage or configuration error (exit code 2).
	ErrUsage error = &Error{Kind: KindUsage}
	// ErrPartial marks a run in which some owners failed after retries
	// (exit code 3).
	ErrPartial error = &Error{Kind: KindPartial}
	// ErrHelp is returned after help was printed on request (exit code 0).
	ErrHelp error = &Error{Kind: KindHelp}
)

// classify gives err, which Run is about to return, its kind. This is the
// one place where the sources' and sinks' classes become exit codes.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok && e.Err != nil {
		return err
	}
	kind := KindFailed
	switch {
	case errors.Is(err, ErrUsage), errors.Is(err, sources.ErrConfig), errors.Is(err, sinks.ErrConfig):
		kind = KindUsage
	case errors.Is(err, ErrPartial), errors.Is(err, pipeline.ErrPartial):
		kind = KindPartial
	}
	return &Error{Kind: kind, Err: err}
}
