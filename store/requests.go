package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/paraphe/paraphe/signer"
)

var _ signer.Store = (*Store)(nil)

// CreateRequest inserts a request and its documents together.
func (s *Store) CreateRequest(ctx context.Context, r *signer.Request, maxPending int) error {
	row := requestRow{
		ID: r.ID, IntegratorID: r.IntegratorID, UserID: r.UserID, Format: string(r.Format), Level: string(r.Level),
		Status: string(r.Status), Reason: r.Reason, IconID: r.IconID, IconChoices: strings.Join(r.IconChoices, ","),
		Nonce: r.Nonce, CallbackURL: r.CallbackURL, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		CreatedIP: r.CreatedIP, Description: r.Description,
	}
	docs := make([]documentRow, len(r.Documents))
	for i, d := range r.Documents {
		docs[i] = documentRow{RequestID: r.ID, Idx: d.Index, Name: d.Name, Hash: signer.HashName(d.Hash), Digest: d.Digest}
		if d.PDF != nil {
			b, err := json.Marshal(d.PDF)
			if err != nil {
				return err
			}
			docs[i].PDFState = string(b)
		}
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if maxPending > 0 {
			if err := s.checkPendingCap(tx, r, maxPending); err != nil {
				return err
			}
		}
		if k := r.Idempotency; k != nil {
			// An expired key of the same name gives way to the new request.
			if err := tx.Where("integrator_id = ? AND key = ? AND created_at <= ?", r.IntegratorID, k.Key,
				r.CreatedAt.Add(-signer.IdempotencyWindow).UTC()).Delete(&idempotencyRow{}).Error; err != nil {
				return err
			}
			err := tx.Create(&idempotencyRow{IntegratorID: r.IntegratorID, Key: k.Key, BodyHash: k.BodyHash, RequestID: r.ID, CreatedAt: r.CreatedAt.UTC()}).Error
			if isDuplicate(err) {
				return signer.ErrIdempotencyRace
			}
			if err != nil {
				return err
			}
		}
		// Plain INSERTs with every column, as gorm's Create wrote them, without its
		// reflection (every request comes here).
		if err := tx.Exec("INSERT INTO signature_requests ("+strings.Join(requestInsertColumns, ", ")+") VALUES (?"+
			strings.Repeat(", ?", len(requestInsertColumns)-1)+")",
			row.ID, row.IntegratorID, row.UserID, row.Format, row.Level, row.Status, row.Reason, row.IconID, row.IconChoices,
			row.Nonce, row.CallbackURL, row.DeviceID, row.ChosenIcon, row.CreatedIP, row.DecidedIP, row.CreatedAt, row.ExpiresAt,
			row.ApprovedAt, row.FinishedAt, row.Description, row.AuthorizedUntil, row.SignLeaseUntil, row.SignAttempts,
			row.PseudonymizedAt).Error; err != nil {
			return err
		}
		for start := 0; start < len(docs); start += documentInsertBatch {
			batch := docs[start:min(start+documentInsertBatch, len(docs))]
			one := "(?" + strings.Repeat(", ?", len(documentInsertColumns)-1) + ")"
			values := make([]string, len(batch))
			args := make([]any, 0, len(batch)*len(documentInsertColumns))
			for i, d := range batch {
				values[i] = one
				args = append(args, d.RequestID, d.Idx, d.Name, d.Hash, d.Digest, d.Result, d.PDFState, d.ReservedAt,
					d.DownloadedAt, d.ResultSHA256, d.ResultDeletedAt, d.FilesDeletedAt)
			}
			if err := tx.Exec("INSERT INTO signature_documents ("+strings.Join(documentInsertColumns, ", ")+") VALUES "+
				strings.Join(values, ", "), args...).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// requestInsertColumns are every column of signature_requests, in the order
// CreateRequest gives their values.
var requestInsertColumns = []string{"id", "integrator_id", "user_id", "format", "level", "status", "reason", "icon_id",
	"icon_choices", "nonce", "callback_url", "device_id", "chosen_icon", "created_ip", "decided_ip", "created_at",
	"expires_at", "approved_at", "finished_at", "description", "authorized_until", "sign_lease_until", "sign_attempts",
	"pseudonymized_at"}

// documentInsertColumns are every column of signature_documents, in the order
// CreateRequest gives their values; documentInsertBatch documents go in one INSERT.
var documentInsertColumns = []string{"request_id", "idx", "name", "hash", "digest", "result", "pdf_state", "reserved_at",
	"downloaded_at", "result_sha256", "result_deleted_at", "files_deleted_at"}

const documentInsertBatch = 200

// Request loads a request with its documents, in one statement (one snapshot).
func (s *Store) Request(ctx context.Context, id string) (*signer.Request, error) {
	rows, err := s.raw.r.QueryContext(ctx, s.q("SELECT "+requestColumnsOf("r")+
		", d.idx, d.name, d.hash, d.digest, d.result, d.pdf_state, d.result_sha256 FROM signature_requests r"+
		" LEFT JOIN signature_documents d ON d.request_id = r.id WHERE r.id = ? ORDER BY d.idx"), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		row  scannedRequest
		docs []documentRow
		seen bool
	)
	for rows.Next() {
		var (
			d                    documentRow
			idx                  sql.NullInt64
			name, hash, pdfState nullString
		)
		dest := append(requestDest(&row), &idx, &name, &hash, &d.Digest, &d.Result, &pdfState, &d.ResultSHA256)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		seen = true
		if idx.Valid {
			d.RequestID, d.Idx, d.Name, d.Hash, d.PDFState = id, int(idx.Int64), string(name), string(hash), string(pdfState)
			docs = append(docs, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !seen {
		return nil, signer.ErrNotFound
	}
	return toRequest(row.requestRow(), docs)
}

// requestColumns are the columns of signature_requests that toRequest uses, in the
// order of requestDest.
var requestColumns = []string{"id", "integrator_id", "user_id", "format", "level", "status", "reason", "icon_id", "icon_choices",
	"nonce", "callback_url", "device_id", "chosen_icon", "created_ip", "decided_ip", "created_at", "expires_at", "approved_at",
	"finished_at", "description", "authorized_until"}

// requestColumnsOf lists requestColumns qualified by a table alias.
func requestColumnsOf(alias string) string {
	return alias + "." + strings.Join(requestColumns, ", "+alias+".")
}

// scannedRequest receives the requestColumns of a row; text columns may be NULL (added
// by a later migration).
type scannedRequest struct {
	id, integrator, user, format, level, status, reason, icon    nullString
	choices, nonce, callback, dev, chosen, cip, dip, description nullString
	created, expires                                             time.Time
	approved, finished, until                                    sql.NullTime
}

func requestDest(r *scannedRequest) []any {
	return []any{&r.id, &r.integrator, &r.user, &r.format, &r.level, &r.status, &r.reason, &r.icon, &r.choices,
		&r.nonce, &r.callback, &r.dev, &r.chosen, &r.cip, &r.dip, &r.created, &r.expires, &r.approved,
		&r.finished, &r.description, &r.until}
}

func (r *scannedRequest) requestRow() requestRow {
	return requestRow{ID: string(r.id), IntegratorID: string(r.integrator), UserID: string(r.user), Format: string(r.format),
		Level: string(r.level), Status: string(r.status), Reason: string(r.reason), IconID: string(r.icon),
		IconChoices: string(r.choices), Nonce: string(r.nonce), CallbackURL: string(r.callback), DeviceID: string(r.dev),
		ChosenIcon: string(r.chosen), CreatedIP: string(r.cip), DecidedIP: string(r.dip), CreatedAt: r.created,
		ExpiresAt: r.expires, ApprovedAt: timePtr(r.approved), FinishedAt: timePtr(r.finished),
		Description: string(r.description), AuthorizedUntil: timePtr(r.until)}
}

// RequestHead loads a request without its documents.
func (s *Store) RequestHead(ctx context.Context, id string) (*signer.Request, error) {
	var row scannedRequest
	err := s.queryRow(ctx, "SELECT "+requestColumnsOf("r")+" FROM signature_requests r WHERE r.id = ?", id).Scan(requestDest(&row)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, signer.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return toRequest(row.requestRow(), nil)
}

// PendingForUser lists a user's live pending requests with their documents (no results).
func (s *Store) PendingForUser(ctx context.Context, userID string, now time.Time) ([]*signer.Request, error) {
	now = now.UTC()
	db := s.rdb.WithContext(ctx)
	var rows []requestRow
	if err := db.Where("user_id = ? AND status = ? AND expires_at > ?", userID, string(signer.StatusPending), now).
		Order("created_at").Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return withDocuments(db.Omit("result"), rows)
}

// withDocuments loads the documents of several requests in one query (q selects the
// columns) and returns the requests in the order of rows.
func withDocuments(q *gorm.DB, rows []requestRow) ([]*signer.Request, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var docs []documentRow
	if err := q.Where("request_id IN ?", ids).Order("request_id, idx").Find(&docs).Error; err != nil {
		return nil, err
	}
	byReq := map[string][]documentRow{}
	for _, d := range docs {
		byReq[d.RequestID] = append(byReq[d.RequestID], d)
	}
	out := make([]*signer.Request, 0, len(rows))
	for _, r := range rows {
		req, err := toRequest(r, byReq[r.ID])
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	return out, nil
}

// countPendingSQL counts a user's live pending requests of one integrator
// (user_id, status, integrator_id, expires after).
const countPendingSQL = "SELECT COUNT(*) FROM signature_requests WHERE user_id = ? AND status = ? AND integrator_id = ? AND expires_at > ?"

// checkPendingCap refuses r when its user already has maxPending live pending requests of
// its integrator. It runs inside the creating transaction: on SQLite that transaction
// holds the write lock from its start (immediate), on PostgreSQL a transaction-scoped
// advisory lock on the integrator and user makes racing creations count one after the
// other.
func (s *Store) checkPendingCap(tx *gorm.DB, r *signer.Request, maxPending int) error {
	if s.postgres {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "pending/"+r.IntegratorID+"/"+r.UserID).Error; err != nil {
			return err
		}
	}
	var n int64
	if err := tx.Raw(countPendingSQL,
		r.UserID, string(signer.StatusPending), r.IntegratorID, r.CreatedAt.UTC()).Row().Scan(&n); err != nil {
		return err
	}
	if n >= int64(maxPending) {
		return signer.ErrTooManyPending
	}
	return nil
}

// CountPendingForUser counts a user's live pending requests made by one integrator.
func (s *Store) CountPendingForUser(ctx context.Context, integratorID, userID string, now time.Time) (int, error) {
	var n int
	err := s.queryRow(ctx, countPendingSQL,
		userID, string(signer.StatusPending), integratorID, now.UTC()).Scan(&n)
	return n, err
}

// Transition applies a state change if the current status is one of from.
func (s *Store) Transition(ctx context.Context, id string, from []signer.Status, c signer.Change) (bool, error) {
	c.At = c.At.UTC()
	set := []string{"status = ?"}
	args := []any{string(c.To)}
	add := func(col string, v any) {
		set = append(set, col+" = ?")
		args = append(args, v)
	}
	if c.Reason != "" {
		add("reason", c.Reason)
	}
	if c.DeviceID != "" {
		add("device_id", c.DeviceID)
	}
	if c.ChosenIcon != "" {
		add("chosen_icon", c.ChosenIcon)
	}
	if c.ClientIP != "" {
		add("decided_ip", c.ClientIP)
	}
	if c.To == signer.StatusApproved || c.To == signer.StatusAuthorized {
		add("approved_at", c.At)
	}
	if c.To == signer.StatusApproved {
		add("sign_attempts", 1)
	}
	if !c.LeaseUntil.IsZero() {
		add("sign_lease_until", c.LeaseUntil.UTC())
	}
	if c.To == signer.StatusAuthorized {
		add("authorized_until", c.Until.UTC())
	}
	if c.To.Final() {
		add("finished_at", c.At)
	}
	if len(from) == 0 {
		return false, nil // gorm's IN () of old matched nothing
	}
	args = append(args, id)
	in := make([]string, len(from))
	for i, st := range from {
		in[i] = "?"
		args = append(args, string(st))
	}
	return s.execOne(ctx, "UPDATE signature_requests SET "+strings.Join(set, ", ")+" WHERE id = ? AND status IN ("+strings.Join(in, ", ")+")", args...)
}

// RotateNonce swaps the challenge nonce if it is still old.
func (s *Store) RotateNonce(ctx context.Context, id, old, next string) (bool, error) {
	return s.execOne(ctx, "UPDATE signature_requests SET nonce = ? WHERE id = ? AND nonce = ? AND status = ?", next, id, old, string(signer.StatusPending))
}

// CompleteSigned stores the results and moves approved → signed in one transaction.
func (s *Store) CompleteSigned(ctx context.Context, id string, results [][]byte, at time.Time) (bool, error) {
	done := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&requestRow{}).Where("id = ? AND status = ?", id, string(signer.StatusApproved)).
			Updates(map[string]any{"status": string(signer.StatusSigned), "finished_at": at.UTC()})
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		// Every document gets its result or nothing is stored: a signed request with a
		// missing result could never be fetched.
		var docs int64
		if err := tx.Model(&documentRow{}).Where("request_id = ?", id).Count(&docs).Error; err != nil {
			return err
		}
		if int64(len(results)) != docs {
			return fmt.Errorf("store: request %s: %d results for %d documents", id, len(results), docs)
		}
		idx := make([]int, len(results))
		for i := range idx {
			idx[i] = i
		}
		n, err := s.setResults(tx, id, idx, results, "")
		if err != nil {
			return err
		}
		if n != int64(len(results)) {
			return fmt.Errorf("store: request %s: %d of %d results stored", id, n, len(results))
		}
		done = true
		return nil
	})
	return done, err
}

// ExpireDue expires every pending request whose time has passed.
func (s *Store) ExpireDue(ctx context.Context, now time.Time) ([]string, error) {
	now = now.UTC()
	var ids []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&requestRow{}).Where("status = ? AND expires_at <= ?", string(signer.StatusPending), now).
			Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		var moved []string
		for _, id := range ids {
			res := tx.Model(&requestRow{}).Where("id = ? AND status = ?", id, string(signer.StatusPending)).
				Updates(map[string]any{"status": string(signer.StatusExpired), "reason": signer.ReasonExpired, "finished_at": now})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				moved = append(moved, id)
			}
		}
		ids = moved
		return nil
	})
	return ids, err
}

func toRequest(r requestRow, docs []documentRow) (*signer.Request, error) {
	out := &signer.Request{
		ID: r.ID, IntegratorID: r.IntegratorID, UserID: r.UserID, Format: signer.Format(r.Format), Level: signer.Level(r.Level),
		Status: signer.Status(r.Status), Reason: r.Reason, IconID: r.IconID, Nonce: r.Nonce, CallbackURL: r.CallbackURL,
		DeviceID: r.DeviceID, ChosenIcon: r.ChosenIcon, CreatedIP: r.CreatedIP, DecidedIP: r.DecidedIP, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		ApprovedAt: r.ApprovedAt, FinishedAt: r.FinishedAt, Description: r.Description, AuthorizedUntil: r.AuthorizedUntil,
	}
	if r.IconChoices != "" {
		out.IconChoices = strings.Split(r.IconChoices, ",")
	}
	for _, d := range docs {
		h, err := signer.ParseHash(d.Hash)
		if err != nil {
			return nil, err
		}
		doc := signer.Document{Index: d.Idx, Name: d.Name, Hash: h, Digest: d.Digest, Result: d.Result, ResultSHA256: d.ResultSHA256}
		if d.PDFState != "" {
			doc.PDF = new(signer.PDFState)
			if err := json.Unmarshal([]byte(d.PDFState), doc.PDF); err != nil {
				return nil, fmt.Errorf("store: document %d state: %w", d.Idx, err)
			}
		}
		out.Documents = append(out.Documents, doc)
	}
	return out, nil
}

// CountRequests counts all stored requests (operations and tests).
func (s *Store) CountRequests(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&requestRow{}).Count(&n).Error
	return n, err
}

// CountPending counts all live pending requests (the metrics gauge).
func (s *Store) CountPending(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&requestRow{}).Where("status = ? AND expires_at > ?", string(signer.StatusPending), time.Now().UTC()).Count(&n).Error
	return n, err
}

// ClaimApproved takes over approved requests whose signing lease ran out before now (their
// signer died: a crash, a lost replica): each one claimed gets the lease until the given
// time and one more attempt counted. The claim is one conditional update per request, so
// two replicas never claim the same request for the same lease. At most limit are claimed.
func (s *Store) ClaimApproved(ctx context.Context, now, until time.Time, limit int) ([]signer.Claim, error) {
	now, until = now.UTC(), until.UTC()
	var rows []requestRow
	if err := s.db.WithContext(ctx).Select("id", "sign_attempts").
		Where("status = ? AND (sign_lease_until IS NULL OR sign_lease_until < ?)", string(signer.StatusApproved), now).
		Order("approved_at").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	var out []signer.Claim
	for _, r := range rows {
		res := s.db.WithContext(ctx).Model(&requestRow{}).
			Where("id = ? AND status = ? AND sign_attempts = ? AND (sign_lease_until IS NULL OR sign_lease_until < ?)",
				r.ID, string(signer.StatusApproved), r.SignAttempts, now).
			Updates(map[string]any{"sign_lease_until": until, "sign_attempts": r.SignAttempts + 1})
		if res.Error != nil {
			return out, res.Error
		}
		if res.RowsAffected == 1 {
			out = append(out, signer.Claim{RequestID: r.ID, Attempt: r.SignAttempts + 1})
		}
	}
	return out, nil
}

// ExtendLease moves the signing lease of an approved request to until, for the holder of
// the given attempt; false when the request is no longer approved or another replica took
// it over.
func (s *Store) ExtendLease(ctx context.Context, id string, attempt int, until time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&requestRow{}).
		Where("id = ? AND status = ? AND sign_attempts = ?", id, string(signer.StatusApproved), attempt).
		Update("sign_lease_until", until.UTC())
	return res.RowsAffected == 1, res.Error
}
