package store

import "time"

// Table names are fixed so that operators and outside checks can rely on them.

type integratorRow struct {
	ID         string `gorm:"primaryKey;size:36"`
	Name       string `gorm:"size:200;not null"`
	APIKeyHash []byte `gorm:"uniqueIndex;not null"`
	CreatedAt  time.Time
	// RedirectURIs holds the OAuth 2.0 redirect URIs, one a line.
	RedirectURIs string `gorm:"size:50000"`
}

func (integratorRow) TableName() string { return "integrators" }

type userRow struct {
	ID          string `gorm:"primaryKey;size:36"`
	GivenName   string `gorm:"size:200"`
	Surname     string `gorm:"size:200"`
	Email       string `gorm:"size:320"`
	Phone       string `gorm:"size:20;index"`
	Country     string `gorm:"size:2"`
	Status      string `gorm:"size:24;not null"`
	PINVerifier []byte
	PINFailures int  `gorm:"not null;default:0"`
	Locked      bool `gorm:"not null;default:false"`
	Refusals    int  `gorm:"not null;default:0"`
	BlockedAt   *time.Time
	KeyRef      []byte // hsm.KeyRef as the HSM handed it back
	CertSerial  string `gorm:"size:64"`
	CreatedAt   time.Time
}

func (userRow) TableName() string { return "users" }

type activationRow struct {
	CodeHash  []byte `gorm:"primaryKey"`
	UserID    string `gorm:"size:36;index;not null"`
	ExpiresAt time.Time
	UsedAt    *time.Time
}

func (activationRow) TableName() string { return "activations" }

type deviceRow struct {
	ID        string `gorm:"primaryKey;size:36"`
	UserID    string `gorm:"size:36;index;not null"`
	PublicKey []byte `gorm:"not null"`
	Status    string `gorm:"size:16;not null"`
	CreatedAt time.Time
	RevokedAt *time.Time
}

func (deviceRow) TableName() string { return "devices" }

type deviceNonceRow struct {
	DeviceID  string    `gorm:"primaryKey;size:36"`
	Nonce     string    `gorm:"primaryKey;size:64"`
	ExpiresAt time.Time `gorm:"index"`
}

func (deviceNonceRow) TableName() string { return "device_nonces" }

type certificateRow struct {
	Serial    string `gorm:"primaryKey;size:64"`
	UserID    string `gorm:"size:36;index"`
	DER       []byte `gorm:"not null"`
	NotBefore time.Time
	NotAfter  time.Time
	RevokedAt *time.Time
	Reason    int `gorm:"not null;default:0"`
}

func (certificateRow) TableName() string { return "certificates" }

type requestRow struct {
	ID           string `gorm:"primaryKey;size:36"`
	IntegratorID string `gorm:"size:36;index;not null"`
	UserID       string `gorm:"size:36;index:idx_requests_user_status,priority:1;not null"`
	Format       string `gorm:"size:8;not null"`
	Level        string `gorm:"size:8;not null"`
	Status       string `gorm:"size:16;index:idx_requests_user_status,priority:2;index;not null"`
	Reason       string `gorm:"size:64"`
	IconID       string `gorm:"size:32;not null"`
	IconChoices  string `gorm:"size:400;not null"`
	Nonce        string `gorm:"size:64"`
	CallbackURL  string `gorm:"size:2048"`
	DeviceID     string `gorm:"size:36"`
	ChosenIcon   string `gorm:"size:32"`
	CreatedIP    string `gorm:"size:64"`
	DecidedIP    string `gorm:"size:64"`
	CreatedAt    time.Time
	ExpiresAt    time.Time `gorm:"index"`
	ApprovedAt   *time.Time
	FinishedAt   *time.Time
	// Description is an authorization's description shown on the phone (CSC).
	Description string `gorm:"size:2000"`
	// AuthorizedUntil ends an approved authorization (raw format).
	AuthorizedUntil *time.Time `gorm:"index"`
	// SignLeaseUntil is how long the process signing an approved request holds it: it
	// renews the lease while it works, and any replica may take the request over (resume
	// after a crash) once the lease has run out.
	SignLeaseUntil *time.Time `gorm:"index"`
	// SignAttempts counts the times signing of the request was started (the approval, then
	// each resumption); it bounds how often a request that kills its signer is retried.
	SignAttempts int `gorm:"not null;default:0"`
	// PseudonymizedAt is when retention removed the request's personal details (client
	// IPs, document names).
	PseudonymizedAt *time.Time
}

func (requestRow) TableName() string { return "signature_requests" }

type documentRow struct {
	RequestID string `gorm:"primaryKey;size:36"`
	Idx       int    `gorm:"primaryKey"`
	Name      string `gorm:"size:255;not null"`
	Hash      string `gorm:"size:8;not null"`
	Digest    []byte `gorm:"not null"`
	Result    []byte
	PDFState  string // JSON of signer.PDFState (PDF mode)
	// ReservedAt marks an authorization's occurrence taken by a consumption (signed, or
	// being signed): it is never handed out twice.
	ReservedAt *time.Time
	// DownloadedAt is the integrator's first download of the result (MarkDownloaded).
	DownloadedAt *time.Time
	// ResultSHA256 binds the evidence to the result once retention deleted its bytes.
	ResultSHA256 []byte
	// ResultDeletedAt is when retention deleted the result bytes.
	ResultDeletedAt *time.Time
	// FilesDeletedAt is when retention deleted the document's files (PDF mode).
	FilesDeletedAt *time.Time
}

func (documentRow) TableName() string { return "signature_documents" }

type auditRow struct {
	Seq       int64 `gorm:"primaryKey;autoIncrement:false"`
	Time      time.Time
	Type      string `gorm:"size:64;not null"`
	Actor     string `gorm:"size:80"`
	RequestID string `gorm:"size:36;index"`
	Subject   string `gorm:"size:80;index"`
	Detail    string
	PrevHash  []byte
	Hash      []byte `gorm:"not null"`
	Seal      []byte
}

func (auditRow) TableName() string { return "audit_log" }

func allModels() []any {
	return []any{&integratorRow{}, &userRow{}, &activationRow{}, &deviceRow{}, &deviceNonceRow{},
		&certificateRow{}, &requestRow{}, &documentRow{}, &auditRow{}, &eventRow{}, &counterRow{}, &idempotencyRow{}, &blobRow{}, &blobChunkRow{},
		&webhookDeliveryRow{}, &webhookAttemptRow{}, &auditAnchorRow{}, &jobLeaseRow{}, &pushSubscriptionRow{}, &cscTokenRow{}, &rateBucketRow{}}
}
