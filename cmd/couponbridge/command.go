package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// command is one subcommand of couponbridge. Each lives in its own file
// (cmd_NAME.go) as `func nameCommand() *command`, with an options struct
// whose AddFlags registers the command's flags; main.go lists them.
type command struct {
	// Name is what the user types: "issue".
	Name string
	// Summary is one line for the command list.
	Summary string
	// Usage is the help text: a synopsis line ("couponbridge issue --campaign
	// NAME ..."), then optionally a blank line and a description with an
	// example. `couponbridge help NAME` and `--help` print it with the flags.
	Usage string
	// Flags registers the command's flags (nil: none besides the global ones).
	Flags func(*pflag.FlagSet)
	// Run does the work; args are the positional arguments left after flags.
	Run func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is the world a command sees: everything it may touch of the
// process, so that run can be tested in-process.
type cliEnv struct {
	// Stdout receives results (tables, JSON, summaries).
	Stdout io.Writer
	// Stderr receives diagnostics: logs, progress, errors.
	Stderr io.Writer
	Stdin  io.Reader
	// Getenv reads an environment variable ("" when unset).
	Getenv func(string) string
	// IsTerminal reports whether Stderr is a terminal (progress bar or log lines).
	IsTerminal bool
	// Program is how the user started couponbridge (os.Args[0]), for hints
	// that name a command to type next; "" means "couponbridge".
	Program string
	// Logger writes to Stderr at the level and in the format of the flags,
	// and of the configuration once a command has loaded it.
	Logger *slog.Logger

	// global holds the global flags of this invocation (set by run).
	global *globalOptions
}

// globalOptions are the flags every command accepts.
type globalOptions struct {
	ConfigFile string
	LogLevel   string
	LogFormat  string
	Ledger     string
	Quiet      bool
	// Wait is how long a command that writes the ledger waits for another
	// process to release it (see ledgerWait).
	Wait time.Duration

	flags *pflag.FlagSet // the parsed set, for Changed
}

// AddFlags registers the global flags. The --config default comes from
// $COUPONBRIDGE_CONFIG when set.
func (g *globalOptions) AddFlags(fs *pflag.FlagSet, getenv func(string) string) {
	def := "./" + defaultConfigFile
	if v := getenv("COUPONBRIDGE_CONFIG"); v != "" {
		def = v
	}
	fs.StringVarP(&g.ConfigFile, "config", "c", def, "configuration `FILE` (default from $COUPONBRIDGE_CONFIG)")
	fs.StringVar(&g.LogLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error (overrides log.level)")
	fs.StringVar(&g.LogFormat, "log-format", "text", "log `FORMAT` on stderr: text or json (overrides log.format)")
	fs.StringVar(&g.Ledger, "ledger", "", "ledger `FILE` (overrides ledger.path)")
	fs.BoolVarP(&g.Quiet, "quiet", "q", false, "no progress output; only warnings and errors on stderr")
	fs.DurationVar(&g.Wait, "wait", 0, "wait up to `DURATION` for another couponbridge process to release the ledger (default 0: fail at once; run-job, sync, report --sync: 10m)")
}

// changed reports whether the user set a global flag.
func (g *globalOptions) changed(name string) bool {
	return g.flags != nil && g.flags.Changed(name)
}

// configOverrides are the global flags that override configuration keys,
// only those actually set.
func (g *globalOptions) configOverrides() []override {
	var out []override
	if g.changed("log-level") {
		lvl := g.LogLevel
		out = append(out, override{"--log-level", "log.level", func(c *Config) { c.Log.Level = lvl }})
	}
	if g.changed("log-format") {
		f := g.LogFormat
		out = append(out, override{"--log-format", "log.format", func(c *Config) { c.Log.Format = f }})
	}
	if g.changed("ledger") {
		p := g.Ledger
		if abs, err := filepath.Abs(p); err == nil && p != "" {
			p = abs
		}
		out = append(out, override{"--ledger", "ledger.path", func(c *Config) { c.Ledger.Path = p }})
	}
	return out
}

// loadConfig loads the configuration named by --config with the
// environment and the flags layered over it, and switches env.Logger to
// the configured level and format. Every secret is required.
func (env *cliEnv) loadConfig() (*Config, error) {
	return env.loadConfigFor(useAllSecrets)
}

// loadConfigFor is loadConfig for a command that uses only the secrets in
// use: the others may be unset, their files missing.
func (env *cliEnv) loadConfigFor(use secretUse) (*Config, error) {
	g := env.global
	if g == nil {
		g = &globalOptions{ConfigFile: "./" + defaultConfigFile}
	}
	cfg, err := loadConfig(g.ConfigFile, loadOptions{getenv: env.Getenv, flags: g.configOverrides(), unused: useAllSecrets &^ use})
	if err != nil {
		return nil, err
	}
	level := cfg.Log.Level
	if g.Quiet && !g.changed("log-level") {
		level = "warn"
	}
	if l, err := newLogger(env.Stderr, level, cfg.Log.Format); err == nil {
		env.Logger = l
	}
	return cfg, nil
}

// commandName is what the user types to run couponbridge again: the
// installed command, or "go run ./cmd/couponbridge" when started that way
// (go run builds into a temporary go-build folder).
func (env *cliEnv) commandName() string {
	if strings.Contains(env.Program, "go-build") {
		return "go run ./cmd/couponbridge"
	}
	return "couponbridge"
}

// quiet reports whether --quiet was given.
func (env *cliEnv) quiet() bool { return env.global != nil && env.global.Quiet }

// parseLevel parses a log level name.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("must be debug, info, warn or error, got %q", s)
}

// newLogger returns a slog logger writing to w.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	lvl, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("must be text or json, got %q", format)
}

// run parses args (without the program name), runs the command and returns
// the exit code. Only main touches the process; tests call run directly.
func run(ctx context.Context, args []string, env *cliEnv) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	cmds := commands()
	g := &globalOptions{}
	scan := newFlagSet("couponbridge")
	g.AddFlags(scan, env.Getenv)

	name, rest, wantHelp := splitCommand(args, scan)
	if name == "" {
		if wantHelp {
			printMainHelp(env.Stdout, cmds, env.Getenv)
			return exitOK
		}
		printMainHelp(env.Stderr, cmds, env.Getenv)
		return exitUsage
	}
	if name == "help" {
		return runHelp(env, cmds, rest, scan)
	}
	cmd := findCommand(cmds, name)
	if cmd == nil {
		fmt.Fprintf(env.Stderr, "couponbridge: unknown command %q%s\n\n", name, suggestCommand(name, cmds))
		printMainHelp(env.Stderr, cmds, env.Getenv)
		return exitUsage
	}

	fs := newFlagSet("couponbridge " + cmd.Name)
	g.AddFlags(fs, env.Getenv)
	if cmd.Flags != nil {
		cmd.Flags(fs)
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printCommandHelp(env.Stdout, cmd, env.Getenv)
			return exitOK
		}
		return reportError(ctx, env, cmd.Name, usageErrorf("%v", err))
	}
	g.flags = fs
	env.global = g
	if env.Logger == nil || g.changed("log-level") || g.changed("log-format") || g.Quiet {
		level := g.LogLevel
		if g.Quiet && !g.changed("log-level") {
			level = "warn"
		}
		l, err := newLogger(env.Stderr, level, g.LogFormat)
		if err != nil {
			flag := "--log-level"
			if _, lerr := parseLevel(level); lerr == nil {
				flag = "--log-format"
			}
			return reportError(ctx, env, cmd.Name, usageErrorf("%s: %v", flag, err))
		}
		env.Logger = l
	}
	err := cmd.Run(ctx, env, fs.Args())
	return reportError(ctx, env, cmd.Name, err)
}

func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	return fs
}

// splitCommand finds the command name among args: the first argument that
// is neither a global flag nor a global flag's value. It returns the other
// arguments in order, and whether -h/--help came before the name.
func splitCommand(args []string, globals *pflag.FlagSet) (name string, rest []string, help bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return "", nil, help
		case a == "-h" || a == "--help":
			help = true
			continue
		case strings.HasPrefix(a, "--"):
			if strings.Contains(a, "=") {
				continue
			}
			if f := globals.Lookup(a[2:]); f != nil && f.NoOptDefVal == "" {
				i++ // the flag's value
			}
			continue
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if len(a) == 2 {
				if f := globals.ShorthandLookup(a[1:]); f != nil && f.NoOptDefVal == "" {
					i++
				}
			}
			continue
		}
		rest = append(append(rest, args[:i]...), args[i+1:]...)
		return a, rest, help
	}
	return "", nil, help
}

func findCommand(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func suggestCommand(name string, cmds []*command) string {
	best, bestD := "", 3
	for _, c := range cmds {
		if d := editDistance(name, c.Name); d < bestD {
			best, bestD = c.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// runHelp implements `couponbridge help [COMMAND]`.
// Global flags among args are ignored.
func runHelp(env *cliEnv, cmds []*command, args []string, globals *pflag.FlagSet) int {
	name, rest, _ := splitCommand(args, globals)
	if extra, _, _ := splitCommand(rest, globals); extra != "" {
		fmt.Fprintln(env.Stderr, "couponbridge: help takes at most one command name")
		return exitUsage
	}
	if name == "" || name == "help" {
		printMainHelp(env.Stdout, cmds, env.Getenv)
		return exitOK
	}
	cmd := findCommand(cmds, name)
	if cmd == nil {
		fmt.Fprintf(env.Stderr, "couponbridge: unknown command %q%s\n\n", name, suggestCommand(name, cmds))
		printMainHelp(env.Stderr, cmds, env.Getenv)
		return exitUsage
	}
	printCommandHelp(env.Stdout, cmd, env.Getenv)
	return exitOK
}

func globalFlagUsages(getenv func(string) string) string {
	fs := newFlagSet("couponbridge")
	(&globalOptions{}).AddFlags(fs, func(string) string { return "" })
	return fs.FlagUsages()
}

// printMainHelp prints the command list, global flags and exit codes.
func printMainHelp(w io.Writer, cmds []*command, getenv func(string) string) {
	var b strings.Builder
	b.WriteString(`couponbridge creates personalized one-time WooCommerce coupons in bulk and
emails each code to its recipient, gently, and never twice.

Usage:
  couponbridge [global flags] COMMAND [flags] [arguments]

Commands:
`)
	width := len("help")
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	sorted := slices.Clone(cmds)
	slices.SortFunc(sorted, func(a, b *command) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range sorted {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "help", "Show help for a command")
	b.WriteString("\nGlobal flags:\n")
	b.WriteString(globalFlagUsages(getenv))
	b.WriteString("\n" + exitCodeHelp)
	b.WriteString("\nRun 'couponbridge help COMMAND' for more about a command.\n")
	_, _ = io.WriteString(w, b.String())
}

// printCommandHelp prints a command's usage, flags and the global flags.
func printCommandHelp(w io.Writer, cmd *command, getenv func(string) string) {
	var b strings.Builder
	usage := strings.TrimSpace(cmd.Usage)
	if usage == "" {
		usage = "couponbridge " + cmd.Name + " [flags]"
	}
	synopsis, more, _ := strings.Cut(usage, "\n\n")
	b.WriteString("Usage:\n")
	for _, line := range strings.Split(synopsis, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "couponbridge ") {
			line = "couponbridge " + line
		}
		b.WriteString("  " + line + "\n")
	}
	fmt.Fprintf(&b, "\n%s\n", cmd.Summary)
	if more = strings.Trim(more, "\n"); more != "" {
		b.WriteString("\n" + more + "\n")
	}
	fs := newFlagSet(cmd.Name)
	if cmd.Flags != nil {
		cmd.Flags(fs)
	}
	if fs.HasFlags() {
		b.WriteString("\nFlags:\n" + fs.FlagUsages())
	}
	b.WriteString("\nGlobal flags:\n" + globalFlagUsages(getenv))
	_, _ = io.WriteString(w, b.String())
}

// joinSorted lists names sorted and comma-separated.
func joinSorted(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	return strings.Join(s, ", ")
}
