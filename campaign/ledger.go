package campaign

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrLedgerLocked is returned by OpenLedger when another process holds the
// ledger. The returned error wraps it and says which process, when known.
var ErrLedgerLocked = errors.New("ledger is in use by another couponbridge process")

// ErrLedgerTooNew is returned by OpenLedger when the ledger was migrated by a
// newer couponbridge than this one: writing to it could corrupt what the
// newer version relies on.
var ErrLedgerTooNew = errors.New("ledger was written by a newer couponbridge")

// busyTimeout is how long a statement waits for a lock held by another
// connection of this process (the process lock keeps other processes out).
const busyTimeout = 10 * time.Second

// Ledger is the SQLite file that records every campaign and every coupon
// issued to every recipient. It is the source of truth of couponbridge: a run
// writes a row's new state before acting on the outside world where that
// matters (a code is persisted before it is sent to the store, a row is
// marked sending before the mail server sees it), so a rerun after a crash
// knows exactly what may have happened.
//
// One process at a time may open a ledger (see OpenLedger). A Ledger is safe
// for concurrent use by the goroutines of that process.
type Ledger struct {
	// db commits with synchronous=FULL: every write that comes before an
	// effect outside (a code planned, a batch marked creating, a message
	// marked sending) is on disk before the effect can happen.
	db *sql.DB
	// relaxed commits with synchronous=NORMAL; only for writes that record
	// an outcome already seen outside. See OpenLedger.
	relaxed *sql.DB
	// wmu serializes this process's write transactions: SQLite allows one
	// writer at a time, and a connection waiting in SQLite's busy handler
	// sleeps in steps of up to 100 ms, while a mutex hands over at once.
	wmu    sync.Mutex
	path   string
	lock   *processLock
	logger *slog.Logger
	now    func() time.Time
}

// OpenLedger opens (creating if needed, mode 0600, with its folder) the
// ledger at path, takes the
// exclusive process lock on "<path>.lock" and applies pending migrations.
// When another process holds the lock it fails at once with an error
// matching ErrLedgerLocked. logger may be nil.
//
// Connections use WAL journaling, a busy timeout and foreign keys.
//
// Durability: under WAL, synchronous=NORMAL survives a killed process (a
// commit is in the WAL file, in the OS's cache) but the last commits may be
// lost on power loss or an OS crash. A lost "planned" or "creating" commit
// after the store created the coupon would let a rerun pick a new code for
// the recipient and create a second coupon (promise 1), and a lost
// "sending" commit would hide a message that may have gone out. So every
// write that precedes an effect outside commits with synchronous=FULL,
// which fsyncs the WAL. Writes that only record an outcome already seen
// (created, verified, emailed, failed, ...) commit with NORMAL: should power
// loss undo them, the row is back in creating or sending, which a rerun
// settles safely (a lookup by code; unconfirmed). The WAL is append-only,
// so a FULL commit also makes every earlier NORMAL commit durable. This
// keeps one fsync per batch instead of one per email.
func OpenLedger(ctx context.Context, path string, logger *slog.Logger) (*Ledger, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" {
		return nil, errors.New("ledger: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("ledger %s: path must not contain '?' or '#'", path)
	}
	// The ledger holds addresses and live codes: owner-only, like the
	// exports. SQLite gives the -wal and -shm files the main file's mode.
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("ledger %s: %w", path, err)
		}
	}
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	lock, err := acquireProcessLock(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	l, err := openLedgerDB(ctx, path, lock, logger, migrationFiles)
	if err != nil {
		lock.release()
		return nil, err
	}
	return l, nil
}

func openLedgerDB(ctx context.Context, path string, lock *processLock, logger *slog.Logger, migrations fs.FS) (*Ledger, error) {
	open := func(sync string) (*sql.DB, error) {
		dsn := path + "?_txlock=immediate" +
			"&_busy_timeout=" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) +
			"&_foreign_keys=1&_journal_mode=WAL&_synchronous=" + sync
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, err
		}
		// Writers serialize on SQLite's write lock anyway; a few connections
		// let readers (status, export iterators) run beside a writer.
		db.SetMaxOpenConns(4)
		db.SetMaxIdleConns(4)
		db.SetConnMaxIdleTime(0)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	db, err := open("FULL")
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	l := &Ledger{db: db, path: path, lock: lock, logger: logger, now: time.Now}
	fail := func(err error) (*Ledger, error) {
		l.db.Close()
		if l.relaxed != nil {
			l.relaxed.Close()
		}
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fail(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fail(fmt.Errorf("journal mode is %q, want wal (is the file on a network file system?)", mode))
	}
	if err := l.migrate(ctx, migrations); err != nil {
		return fail(err)
	}
	if l.relaxed, err = open("NORMAL"); err != nil {
		return fail(err)
	}
	return l, nil
}

// Path returns the file name the ledger was opened with.
func (l *Ledger) Path() string { return l.path }

// Close closes the database and releases the process lock. It is safe to
// call more than once.
func (l *Ledger) Close() error {
	if l == nil || l.db == nil {
		return nil
	}
	err := l.db.Close()
	if l.relaxed != l.db {
		err = errors.Join(err, l.relaxed.Close())
	}
	l.db, l.relaxed = nil, nil
	if l.lock != nil {
		l.lock.release()
		l.lock = nil
	}
	return err
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number and '_'", base)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, base, v)
		}
		seen[v] = base
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies, in version order and each in its own transaction, the
// migrations not yet recorded in schema_migrations.
func (l *Ledger) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return err
	}
	if _, err := l.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, current, err := appliedMigrations(ctx, l.db)
	if err != nil {
		return err
	}
	if n := len(ms); n > 0 && current > ms[n-1].version {
		return fmt.Errorf("%w (schema version %d, this build knows up to %d): upgrade couponbridge", ErrLedgerTooNew, current, ms[n-1].version)
	}
	// By set, not by the highest version: a migration numbered below one
	// already applied (parts of the schema are versioned in ranges: 0001
	// core, 0100 jobs, 0200 tracking) is still applied once.
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := l.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, formatTime(l.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		l.logger.Info("ledger migrated", "path", l.path, "version", m.version, "migration", m.name)
	}
	return nil
}

// SchemaVersion returns the highest migration applied to the ledger.
func (l *Ledger) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := l.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// inTx runs fn in a transaction (BEGIN IMMEDIATE: see the DSN) and commits
// it durably (synchronous=FULL), or rolls back when fn fails.
func (l *Ledger) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return l.inTxOn(ctx, l.db, fn)
}

func (l *Ledger) inTxOn(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// timeLayout is how the ledger stores instants: UTC, fixed width, so that
// text order is time order.
const timeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func nullTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}

func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("ledger: bad timestamp %q: %w", s.String, err)
	}
	return t, nil
}

// isUniqueViolation reports whether err is a UNIQUE constraint failure on
// the given column list as SQLite names it (e.g. "issues.code_key").
func isUniqueViolation(err error, columns string) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	if se.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return false
	}
	return strings.Contains(se.Error(), columns)
}

// processLock is the exclusive lock on "<ledger>.lock". The file also holds
// the pid of the process that holds it, for the error message others get.
type processLock struct {
	f *os.File
}

func (p *processLock) release() {
	if p == nil || p.f == nil {
		return
	}
	_ = unlockFile(p.f)
	_ = p.f.Close()
	p.f = nil
}

func acquireProcessLock(name string) (*processLock, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(name); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = " (pid " + strconv.Itoa(pid) + ")"
			}
		}
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("%w%s: wait for it to finish or stop it; lock file %s", ErrLedgerLocked, holder, name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	// Record who holds it. Failing to write the pid only makes the message
	// of a second process less precise.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &processLock{f: f}, nil
}

// appliedMigrations returns the versions recorded in schema_migrations and
// the highest of them.
func appliedMigrations(ctx context.Context, db *sql.DB) (map[int]bool, int, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	highest := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, 0, err
		}
		applied[v] = true
		highest = max(highest, v)
	}
	return applied, highest, rows.Err()
}

// OpenLedgerReadOnly opens an existing ledger for reading only: no process
// lock, no migration, nothing written, so that status, export and report
// work while another couponbridge process (a run, the daemon) holds the
// ledger, and a dry run leaves no trace. SQLite's WAL lets it read a
// consistent snapshot beside that writer. Writing methods fail. A ledger
// newer than this build is refused (ErrLedgerTooNew); a missing one is an
// error matching fs.ErrNotExist.
func OpenLedgerReadOnly(ctx context.Context, path string, logger *slog.Logger) (*Ledger, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" {
		return nil, errors.New("ledger: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("ledger %s: path must not contain '?' or '#'", path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	// With no writer, SQLite would create -wal and -shm files for a reader.
	// So when no process holds the ledger (a shared lock on its lock file
	// is granted, and kept until Close so that no writer starts) and no WAL
	// is left over from a killed run, the file is read as immutable, which
	// creates nothing. Beside a writer, its -wal and -shm exist already.
	lock, immutable := readerLock(path)
	dsn := "file:" + abs + "?mode=ro&_busy_timeout=" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + "&_foreign_keys=1"
	if immutable {
		dsn += "&immutable=1"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.release()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	fail := func(err error) (*Ledger, error) {
		db.Close()
		lock.release()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		return fail(err)
	}
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return fail(err)
	}
	_, current, err := appliedMigrations(ctx, db)
	if err != nil {
		return fail(fmt.Errorf("not a couponbridge ledger: %w", err))
	}
	if n := len(ms); n > 0 && current > ms[n-1].version {
		return fail(fmt.Errorf("%w (schema version %d, this build knows up to %d): upgrade couponbridge", ErrLedgerTooNew, current, ms[n-1].version))
	}
	// Both handles are the same read-only pool: a write through either
	// fails with SQLite's "attempt to write a readonly database".
	return &Ledger{db: db, relaxed: db, path: path, lock: lock, logger: logger, now: time.Now}, nil
}

// readerLock takes a shared lock on an existing "<path>.lock" (never
// creating it) and reports whether the ledger may be read as immutable: no
// process writes it and no WAL is left over. Without that it returns a nil
// lock, which is safe to release.
func readerLock(path string) (*processLock, bool) {
	f, err := os.Open(path + ".lock")
	if err != nil {
		return nil, false
	}
	if sharedLockFile(f) != nil {
		f.Close()
		return nil, false
	}
	if info, err := os.Stat(path + "-wal"); err == nil && info.Size() > 0 {
		_ = unlockFile(f)
		f.Close()
		return nil, false
	}
	return &processLock{f: f}, true
}
