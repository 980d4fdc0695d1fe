package account

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/errkind"
)

// Sentinel errors of the GDPR operations.
var (
	// ErrOpenRequests refuses an erasure while a request is pending or approved: the
	// signer could still be asked to sign, and a signature could still be made.
	ErrOpenRequests = errkind.New(errkind.Conflict, "account: the user has pending or approved requests; erase once they have ended (or cancel them)")
	// ErrErased refuses to block or re-activate an erased account.
	ErrErased = errors.New("account: the account was erased")
	// ErrNoPrivacyStore means the store given to New cannot export or erase.
	ErrNoPrivacyStore = errors.New("account: the store does not support export and erasure")
)

// PrivacyStore is what export and erasure need from storage. The Store given to New
// provides it when it can (store.Store does); it is found by type assertion.
type PrivacyStore interface {
	UserData(ctx context.Context, userID string) (*UserData, error)
	EraseUser(ctx context.Context, userID string, at time.Time) (ErasedRecords, error)
}

func (s *Service) privacy() (PrivacyStore, error) {
	ps, ok := s.store.(PrivacyStore)
	if !ok {
		return nil, ErrNoPrivacyStore
	}
	return ps, nil
}

// Export is everything held about a user at one time (the right of access and of
// portability). It renders as JSON or CSV.
type Export struct {
	At   time.Time
	Data *UserData
}

// Export collects what is held about a user and records the export in the audit log
// (ids only). Secrets (PIN verifier, keys, activation codes) are never part of it.
func (s *Service) Export(ctx context.Context, userID string) (*Export, error) {
	ps, err := s.privacy()
	if err != nil {
		return nil, err
	}
	d, err := ps.UserData(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("account: export: %w", err)
	}
	if err := s.record(ctx, audit.Event{Type: audit.UserExported, Actor: audit.Operator, Subject: userID}); err != nil {
		return nil, err
	}
	return &Export{At: s.now().UTC(), Data: d}, nil
}

// Erasure is what Erase did, ids only.
type Erasure struct {
	UserID         string
	AlreadyErased  bool
	DeletedDevices []string
	RevokedSerials []string
}

// Erase removes a user's personal data (see store.Store.EraseUser), destroys the signing
// key, and records the erasure in the audit log; requests and evidence stay under the
// user id. ErrOpenRequests while a request is pending or approved; erasing an erased
// user again changes nothing and records nothing.
func (s *Service) Erase(ctx context.Context, userID string) (Erasure, error) {
	ps, err := s.privacy()
	if err != nil {
		return Erasure{}, err
	}
	ch, err := ps.EraseUser(ctx, userID, s.now())
	if errors.Is(err, ErrOpenRequests) {
		return Erasure{}, ErrOpenRequests
	}
	if err != nil {
		return Erasure{}, fmt.Errorf("account: erase: %w", err)
	}
	out := Erasure{UserID: userID, AlreadyErased: ch.AlreadyErased, DeletedDevices: ch.DeletedDevices, RevokedSerials: ch.RevokedSerials}
	if ch.AlreadyErased {
		return out, nil
	}
	if err := s.record(ctx, audit.Event{Type: audit.UserErased, Actor: audit.Operator, Subject: userID,
		Detail: map[string]string{"devices": strconv.Itoa(len(ch.DeletedDevices))}}); err != nil {
		return out, err
	}
	for _, serial := range ch.RevokedSerials {
		_ = s.record(ctx, audit.Event{Type: audit.CertificateRevoked, Actor: audit.Operator, Subject: userID,
			Detail: map[string]string{"serial": serial, "reason": "cessationOfOperation"}})
	}
	if len(ch.OldKeyRef) > 0 {
		s.devices.DropKey(ctx, ch.OldKeyRef)
	}
	s.log.Info("account erased", "user", userID, "devices", len(ch.DeletedDevices))
	return out, nil
}

// refuseErased is the guard of Block and Reactivate.
func (s *Service) refuseErased(ctx context.Context, userID string) error {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return err
	}
	if u.Status == device.UserErased {
		return ErrErased
	}
	return nil
}

// The JSON form. Field names follow the API's (camelCase); times are RFC 3339 UTC.
type exportJSON struct {
	ExportedAt      time.Time          `json:"exportedAt"`
	User            exportUser         `json:"user"`
	Devices         []exportDevice     `json:"devices"`
	ActivationCodes []exportActivation `json:"activationCodes"`
	Requests        []exportRequest    `json:"requests"`
	Certificates    []exportCert       `json:"certificates"`
	// PushSubscriptions: the browsers registered for Web Push (the phone app).
	PushSubscriptions []exportPush `json:"pushSubscriptions"`
}

type exportUser struct {
	ID                string     `json:"id"`
	GivenName         string     `json:"givenName"`
	Surname           string     `json:"surname"`
	Email             string     `json:"email"`
	Phone             string     `json:"phone"`
	Country           string     `json:"country"`
	Status            string     `json:"status"`
	Locked            bool       `json:"locked"`
	PINFailures       int        `json:"pinFailures"`
	Refusals          int        `json:"refusals"`
	BlockedAt         *time.Time `json:"blockedAt,omitempty"`
	CertificateSerial string     `json:"certificateSerial,omitempty"`
	CreatedAt         time.Time  `json:"createdAt"`
}

type exportDevice struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

type exportPush struct {
	DeviceID  string    `json:"deviceId"`
	Endpoint  string    `json:"endpoint"`
	CreatedAt time.Time `json:"createdAt"`
}

type exportActivation struct {
	ExpiresAt time.Time  `json:"expiresAt"`
	UsedAt    *time.Time `json:"usedAt,omitempty"`
}

type exportRequest struct {
	ID         string            `json:"id"`
	Integrator exportIntegrator  `json:"integrator"`
	Documents  []string          `json:"documents"`
	Status     string            `json:"status"`
	Reason     string            `json:"reason,omitempty"`
	Format     string            `json:"format"`
	Level      string            `json:"level"`
	DeviceID   string            `json:"deviceId,omitempty"`
	ClientIPs  map[string]string `json:"clientIps,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
	ExpiresAt  time.Time         `json:"expiresAt"`
	ApprovedAt *time.Time        `json:"approvedAt,omitempty"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
}

type exportIntegrator struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type exportCert struct {
	Serial           string     `json:"serial"`
	NotBefore        time.Time  `json:"notBefore"`
	NotAfter         time.Time  `json:"notAfter"`
	RevokedAt        *time.Time `json:"revokedAt,omitempty"`
	RevocationReason int        `json:"revocationReason,omitempty"`
}

func (e *Export) view() exportJSON {
	d := e.Data
	u := d.User
	out := exportJSON{ExportedAt: e.At, User: exportUser{ID: u.ID, GivenName: u.GivenName, Surname: u.Surname, Email: u.Email, Phone: u.Phone,
		Country: u.Country, Status: string(u.Status), Locked: u.Locked, PINFailures: u.PINFailures, Refusals: u.Refusals,
		BlockedAt: u.BlockedAt, CertificateSerial: u.CertSerial, CreatedAt: u.CreatedAt.UTC()},
		Devices: []exportDevice{}, ActivationCodes: []exportActivation{}, Requests: []exportRequest{}, Certificates: []exportCert{}, PushSubscriptions: []exportPush{}}
	for _, v := range d.Devices {
		out.Devices = append(out.Devices, exportDevice(v))
	}
	for _, a := range d.Activations {
		out.ActivationCodes = append(out.ActivationCodes, exportActivation(a))
	}
	for _, r := range d.Requests {
		er := exportRequest{ID: r.ID, Integrator: exportIntegrator{ID: r.IntegratorID, Name: r.IntegratorName}, Documents: r.Documents,
			Status: r.Status, Reason: r.Reason, Format: r.Format, Level: r.Level, DeviceID: r.DeviceID,
			CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, ApprovedAt: r.ApprovedAt, FinishedAt: r.FinishedAt}
		if er.Documents == nil {
			er.Documents = []string{}
		}
		if r.CreatedIP != "" || r.DecidedIP != "" {
			er.ClientIPs = map[string]string{}
			if r.CreatedIP != "" {
				er.ClientIPs["integrator"] = r.CreatedIP
			}
			if r.DecidedIP != "" {
				er.ClientIPs["device"] = r.DecidedIP
			}
		}
		out.Requests = append(out.Requests, er)
	}
	for _, c := range d.Certificates {
		out.Certificates = append(out.Certificates, exportCert{Serial: c.Serial, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
			RevokedAt: c.RevokedAt, RevocationReason: c.Reason})
	}
	for _, p := range d.PushSubscriptions {
		out.PushSubscriptions = append(out.PushSubscriptions, exportPush(p))
	}
	return out
}

// WriteJSON writes the export as one indented JSON object.
func (e *Export) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(e.view())
}

// CSVHeader is the header row of the CSV form: one row per fact, so that a spreadsheet
// can filter by section (user, device, activationCode, request, certificate,
// pushSubscription), by the id of the thing, and by field.
var CSVHeader = []string{"section", "id", "field", "value"}

// WriteCSV writes the export as one CSV table (RFC 4180) with the columns of CSVHeader.
// Cells a spreadsheet would take for a formula (starting with = + - @ or a control
// character) are prefixed with an apostrophe, as OWASP advises, since document names
// come from integrators.
func (e *Export) WriteCSV(w io.Writer) error {
	v := e.view()
	cw := csv.NewWriter(w)
	rows := [][]string{CSVHeader, {"export", "", "exportedAt", stamp(&v.ExportedAt)}}
	add := func(section, id, field, value string) {
		rows = append(rows, []string{section, id, field, value})
	}
	u := v.User
	for _, f := range [][2]string{{"givenName", u.GivenName}, {"surname", u.Surname}, {"email", u.Email}, {"phone", u.Phone},
		{"country", u.Country}, {"status", u.Status}, {"locked", strconv.FormatBool(u.Locked)}, {"pinFailures", strconv.Itoa(u.PINFailures)},
		{"refusals", strconv.Itoa(u.Refusals)}, {"blockedAt", stamp(u.BlockedAt)}, {"certificateSerial", u.CertificateSerial},
		{"createdAt", stamp(&u.CreatedAt)}} {
		add("user", u.ID, f[0], f[1])
	}
	for _, d := range v.Devices {
		add("device", d.ID, "status", d.Status)
		add("device", d.ID, "createdAt", stamp(&d.CreatedAt))
		add("device", d.ID, "revokedAt", stamp(d.RevokedAt))
	}
	for i, a := range v.ActivationCodes {
		id := strconv.Itoa(i + 1)
		add("activationCode", id, "expiresAt", stamp(&a.ExpiresAt))
		add("activationCode", id, "usedAt", stamp(a.UsedAt))
	}
	for _, r := range v.Requests {
		add("request", r.ID, "integratorId", r.Integrator.ID)
		add("request", r.ID, "integratorName", r.Integrator.Name)
		for _, name := range r.Documents {
			add("request", r.ID, "document", name)
		}
		for _, f := range [][2]string{{"status", r.Status}, {"reason", r.Reason}, {"format", r.Format}, {"level", r.Level},
			{"deviceId", r.DeviceID}, {"integratorIp", r.ClientIPs["integrator"]}, {"deviceIp", r.ClientIPs["device"]},
			{"createdAt", stamp(&r.CreatedAt)}, {"expiresAt", stamp(&r.ExpiresAt)}, {"approvedAt", stamp(r.ApprovedAt)},
			{"finishedAt", stamp(r.FinishedAt)}} {
			add("request", r.ID, f[0], f[1])
		}
	}
	for _, c := range v.Certificates {
		add("certificate", c.Serial, "notBefore", stamp(&c.NotBefore))
		add("certificate", c.Serial, "notAfter", stamp(&c.NotAfter))
		add("certificate", c.Serial, "revokedAt", stamp(c.RevokedAt))
		add("certificate", c.Serial, "revocationReason", strconv.Itoa(c.RevocationReason))
	}
	for i, p := range v.PushSubscriptions {
		id := strconv.Itoa(i + 1)
		add("pushSubscription", id, "deviceId", p.DeviceID)
		add("pushSubscription", id, "endpoint", p.Endpoint)
		add("pushSubscription", id, "createdAt", stamp(&p.CreatedAt))
	}
	for _, r := range rows {
		for i := range r {
			r[i] = neutralize(r[i])
		}
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// neutralize keeps a spreadsheet from running a cell as a formula.
func neutralize(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r\n", rune(s[0])) {
		return "'" + s
	}
	return s
}
