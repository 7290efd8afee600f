// Command orw pretrains flow-matching models, fine-tunes them toward a reward
// with ORW-CFM-W2, samples and evaluates them, and benchmarks the backend.
//
// Run `orw help` for the commands and `orw COMMAND -h` for their flags.
package main

import (
	"context"
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/orwcfm/orwcfm/internal/suggest"
	"github.com/orwcfm/orwcfm/pkg/experiment"
	"github.com/orwcfm/orwcfm/pkg/orw"
	"github.com/orwcfm/orwcfm/pkg/orw/backends"
)

// command is one sub-command of orw.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

func usage(w io.Writer) {
	fmt.Fprintln(w, "orw: online reward-weighted fine-tuning of flow-matching models (ORW-CFM-W2)")
	fmt.Fprintln(w, "\nUsage: orw COMMAND [flags]   (orw COMMAND -h lists a command's flags)\n\nCommands:")
	sort.Slice(commands, func(i, j int) bool { return commands[i].name < commands[j].name })
	for _, c := range commands {
		fmt.Fprintf(w, "  %-17s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEnvironment: GOMLX_BACKEND selects the backend (default: the pure-Go CPU backend; xla:cuda for NVIDIA GPUs).")
}

func main() {
	os.Exit(runSafe(os.Args[1:]))
}

// runSafe is run with a last resort: a panic (a bug) is reported as one line
// and exit status 3 instead of a goroutine dump. ORW_TRACEBACK=1 lets it
// through, with its stack, for debugging.
func runSafe(args []string) (code int) {
	defer func() {
		if os.Getenv("ORW_TRACEBACK") == "1" {
			return
		}
		if p := recover(); p != nil {
			name := "orw"
			if len(args) > 0 {
				name += " " + args[0]
			}
			fmt.Fprintf(os.Stderr, "%s: internal error: %s (a bug: please report it with the command line; ORW_TRACEBACK=1 shows where)\n", name, oneLine(fmt.Sprint(p)))
			code = 3
		}
	}()
	return run(args)
}

// errUsage marks errors that were already explained by the flag package.
var errUsage = errors.New("usage")

func run(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(os.Stdout)
		return 0
	}
	name := args[0]
	for _, c := range commands {
		if c.name != name {
			continue
		}
		if w := backends.SIMDWarning(); w != "" {
			fmt.Fprintln(os.Stderr, w)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			// After the first Ctrl-C the command stops at its next safe point;
			// a second one ends the process at once.
			<-ctx.Done()
			stop()
		}()
		err := c.run(ctx, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.Is(err, context.Canceled):
			msg := "interrupted; progress so far is saved, run the same command again to resume"
			if ie := (*interrupted)(nil); errors.As(err, &ie) {
				msg = ie.msg
			}
			fmt.Fprintln(os.Stderr, "orw "+name+": "+msg)
			return 130
		}
		fmt.Fprintln(os.Stderr, "orw "+name+": "+oneLine(fieldsAsFlags(err, flagSets[name])))
		return 1
	}
	fmt.Fprintln(os.Stderr, "orw: "+suggest.Unknown("command", name, commandNames()).Error())
	return 2
}

// interrupted is the error of a command stopped by Ctrl-C (or SIGTERM) after
// saving its progress; msg says where it stopped and how to resume.
type interrupted struct{ msg string }

func (e *interrupted) Error() string { return e.msg }

// Unwrap makes an interrupted error a context.Canceled.
func (e *interrupted) Unwrap() error { return context.Canceled }

func commandNames() []string {
	var n []string
	for _, c := range commands {
		n = append(n, c.name)
	}
	sort.Strings(n)
	return n
}

// oneLine folds an error message to one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// fieldsAsFlags shows a library error in the command's terms: each
// *orw.FieldError in err whose field has a flag in fs (by the table of
// experiment.ConfigFields) is written with the flag in place of the field
// ("--refresh-every must be >= 1, got 0"), and so are the fields that the
// advice of an *orw.Remedy names ("lower --tau or set --normalize-weights");
// the rest of the text stays.
func fieldsAsFlags(err error, fs *flag.FlagSet) string {
	msg := err.Error()
	if fs == nil {
		return msg
	}
	for _, fe := range fieldErrors(err) {
		f := experiment.FlagOf(fe.Field)
		if f == "" || fs.Lookup(f) == nil {
			continue
		}
		asFlag := *fe
		asFlag.Field = "--" + f
		msg = strings.Replace(msg, fe.Error(), asFlag.Error(), 1)
	}
	var rem *orw.Remedy
	if errors.As(err, &rem) {
		names := slices.Clone(rem.Fields)
		for i, field := range rem.Fields {
			if f := experiment.FlagOf(field); f != "" && fs.Lookup(f) != nil {
				names[i] = "--" + f
			}
		}
		msg = strings.Replace(msg, rem.Error(), rem.Text(names), 1)
	}
	return msg
}

// fieldErrors lists the *orw.FieldError values in err's tree, in order.
func fieldErrors(err error) []*orw.FieldError {
	var out []*orw.FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*orw.FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// flagSets holds each command's flags (made by newFlags), for fieldsAsFlags.
var flagSets = map[string]*flag.FlagSet{}

// newFlags returns a flag set whose errors are returned, not fatal.
func newFlags(name, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("orw "+name, flag.ContinueOnError)
	flagSets[name] = fs
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "orw %s: %s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and rejects stray positional arguments. A bad flag is
// reported in one line (the flag list is behind -h).
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q (flags go before nothing else; see -h)\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// badName reports whether a parse error is an unknown name given to a flag of a
// named type (flag.TextVar: --method, --solver, --coupling), and returns it as
// "--solver: unknown ODE solver ...". Such a name is a bad value (exit status
// 1, the error lists the valid names), not bad usage.
func badName(fs *flag.FlagSet, err error) (string, bool) {
	msg, found := oneLine(err.Error()), ""
	fs.VisitAll(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		if _, named := g.Get().(encoding.TextUnmarshaler); !named {
			return
		}
		if _, why, ok := strings.Cut(msg, " for flag -"+f.Name+": "); ok {
			found = "--" + f.Name + ": " + why
		}
	})
	return found, found != ""
}
