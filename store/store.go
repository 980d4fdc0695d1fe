package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/paraphe/paraphe/hsm"
)

// sqlitePageSize is the page size of a new SQLite database (see Open).
const sqlitePageSize = 16384

// Config selects the database.
type Config struct {
	// URL is a postgres:// URL; empty means the SQLite file SQLitePath.
	URL string
	// SQLitePath is the SQLite file of the embedded default.
	SQLitePath string
}

// Store is the gorm-backed repository of every domain package.
type Store struct {
	db *gorm.DB
	// rdb serves the hot read-only queries (authentication, request reads). On SQLite it
	// is a second pool of query_only connections beside the single writer, so reads do
	// not queue behind writes (WAL lets them run together); on PostgreSQL it is db.
	rdb      *gorm.DB
	postgres bool
	raw      *sqlConns
	ckpt     *checkpointer // SQLite's background WAL checkpoints; nil on PostgreSQL
	nonces   noncePruner
}

// Open connects, migrates the schema and returns a Store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	gcfg := &gorm.Config{Logger: logger.Discard, NowFunc: func() time.Time { return time.Now().UTC() }, TranslateError: true,
		SkipDefaultTransaction: true}
	var (
		db, rdb   *gorm.DB
		err       error
		pg        bool
		sqliteDSN string
	)
	switch {
	case cfg.URL != "":
		u, perr := url.Parse(cfg.URL)
		if perr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, errors.New("store: the database URL must start with postgres:// or postgresql://")
		}
		pg = true
		db, err = gorm.Open(postgres.Open(cfg.URL), gcfg)
	case cfg.SQLitePath != "":
		if err := os.MkdirAll(filepath.Dir(cfg.SQLitePath), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		// Create the file 0600 before SQLite opens it: SQLite gives the -wal and -shm
		// files the mode of the database file, and the WAL holds the same personal data.
		f, ferr := os.OpenFile(cfg.SQLitePath, os.O_RDWR|os.O_CREATE, 0o600)
		if ferr != nil {
			return nil, fmt.Errorf("store: %w", ferr)
		}
		ferr = f.Chmod(0o600)
		if cerr := f.Close(); ferr == nil {
			ferr = cerr
		}
		if ferr != nil {
			return nil, fmt.Errorf("store: %w", ferr)
		}
		// WAL lets readers run beside the writer; immediate transactions take the write lock
		// at BEGIN so two processes (server and CLI) never deadlock on an upgrade;
		// secure_delete overwrites deleted content so erased personal data leaves the file.
		// A new database gets 16 KiB pages (SQLite's default is 4 KiB): a signed document's
		// CMS (about 2 KB) then shares its page with six others instead of taking a page of
		// its own, so a 500-document batch commits about 75 WAL frames instead of 500 and
		// splits fewer B-tree pages. The page size is fixed when the file is first written;
		// an existing database keeps its own (VACUUM would change it).
		q := url.Values{}
		for _, p := range []string{fmt.Sprintf("page_size(%d)", sqlitePageSize), "journal_mode(WAL)", "busy_timeout(15000)", "foreign_keys(1)", "secure_delete(1)", "synchronous(NORMAL)", "temp_store(MEMORY)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walAutocheckpointPages)) // see checkpoint.go
		sqliteDSN = "file:" + cfg.SQLitePath + "?" + q.Encode()
		db, err = gorm.Open(sqlite.Open(sqliteDSN), gcfg)
		if err == nil {
			q.Add("_pragma", "query_only(1)")
			if rdb, err = gorm.Open(sqlite.Open("file:"+cfg.SQLitePath+"?"+q.Encode()), gcfg); err == nil {
				if rsql, rerr := rdb.DB(); rerr == nil {
					rsql.SetMaxOpenConns(readers)
					rsql.SetMaxIdleConns(readers)
				}
			}
		}
	default:
		return nil, errors.New("store: no database configured")
	}
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !pg {
		// One connection: SQLite has one writer anyway, and a single connection keeps
		// the immediate transactions of this process from waiting on each other.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if rdb == nil {
		rdb = db
	}
	rsqlDB, err := rdb.DB()
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{db: db, rdb: rdb, postgres: pg, raw: &sqlConns{w: sqlDB, r: rsqlDB}}
	if err := s.migrate(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	if sqliteDSN != "" {
		if s.ckpt, err = startCheckpointer(sqliteDSN); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	if s.postgres {
		// Serialize migrations of replicas starting together.
		return db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", lockMigrate).Error; err != nil {
				return fmt.Errorf("store: migrate lock: %w", err)
			}
			if err := tx.AutoMigrate(allModels()...); err != nil {
				return fmt.Errorf("store: migrate: %w", err)
			}
			return migrateKeyLabels(tx)
		})
	}
	if err := db.AutoMigrate(allModels()...); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return db.Transaction(migrateKeyLabels)
}

// migrateKeyLabels moves the users' signing keys recorded by label (the key_label column
// of the first release) to key_ref, as the HSM's reference for a key stored under that
// label, then drops the old column. It does nothing once the column is gone.
func migrateKeyLabels(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasColumn(&userRow{}, "key_label") {
		return nil
	}
	var rows []struct {
		ID       string
		KeyLabel string
	}
	if err := tx.Table("users").Select("id", "key_label").Where("key_label <> '' AND key_ref IS NULL").Scan(&rows).Error; err != nil {
		return fmt.Errorf("store: migrate key labels: %w", err)
	}
	for _, r := range rows {
		if err := tx.Model(&userRow{}).Where("id = ?", r.ID).Update("key_ref", []byte(hsm.LabelRef(r.KeyLabel))).Error; err != nil {
			return fmt.Errorf("store: migrate key labels: %w", err)
		}
	}
	// Plain SQL: SQLite (3.35 and later) and PostgreSQL both drop a column in place.
	if err := tx.Exec("ALTER TABLE users DROP COLUMN key_label").Error; err != nil {
		return fmt.Errorf("store: migrate key labels: %w", err)
	}
	return nil
}

// Advisory lock keys on PostgreSQL.
const (
	lockMigrate int64 = 0x7061726170686501
	lockAudit   int64 = 0x7061726170686502
)

// readers is the SQLite read pool's size: one per core of the machines this runs on is
// plenty, since each read is a short indexed query.
const readers = 4

// Close closes the database.
func (s *Store) Close() error {
	if s.ckpt != nil {
		_ = s.ckpt.close()
	}
	if s.rdb != s.db {
		if r, err := s.rdb.DB(); err == nil {
			r.Close()
		}
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.postgres }

func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// translate maps a database/sql error to gorm's kinds (gorm.ErrDuplicatedKey, …), as
// gorm's own calls return them.
func (s *Store) translate(err error) error {
	if t, ok := s.db.Dialector.(gorm.ErrorTranslator); ok && err != nil {
		return t.Translate(err)
	}
	return err
}

func isDuplicate(err error) bool {
	return errors.Is(err, gorm.ErrDuplicatedKey) || (err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed"))
}
