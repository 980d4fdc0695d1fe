package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/signer"
)

// EvidenceRecord is the JSON evidence of a signature request. Audit entries carry their
// chain hashes so the record can be checked against the log (paraphe audit verify).
type EvidenceRecord struct {
	RequestID   string             `json:"requestId"`
	Integrator  string             `json:"integratorId"`
	Signer      string             `json:"signer"`
	Status      string             `json:"status"`
	Reason      string             `json:"reason,omitempty"`
	Format      string             `json:"format"`
	Level       string             `json:"level"`
	Documents   []evidenceDocument `json:"documents"`
	Icon        evidenceIcon       `json:"icon"`
	DeviceID    string             `json:"deviceId,omitempty"`
	Times       evidenceTimes      `json:"times"`
	ClientIPs   map[string]string  `json:"clientIps,omitempty"`
	Certificate string             `json:"certificate,omitempty"` // PEM
	Audit       []evidenceAudit    `json:"audit"`
	// Checkpoint is a signed statement of the audit log's head when the record was made:
	// kept by the integrator, it proves later that no entry was cut from the log.
	Checkpoint *CheckpointOut `json:"auditCheckpoint,omitempty"`
}

// CheckpointOut is an audit checkpoint in JSON.
type CheckpointOut struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	Signature string    `json:"signature"` // base64 ECDSA by the HSM's checkpoint key
}

// NewCheckpointOut renders a checkpoint.
func NewCheckpointOut(cp audit.Checkpoint) *CheckpointOut {
	return &CheckpointOut{Seq: cp.Seq, Hash: hex.EncodeToString(cp.Hash), Time: cp.Time, Signature: base64.StdEncoding.EncodeToString(cp.Signature)}
}

// Checkpoint reads a checkpoint back.
func (c CheckpointOut) Checkpoint() (audit.Checkpoint, error) {
	h, err := hex.DecodeString(c.Hash)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("checkpoint hash: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	return audit.Checkpoint{Seq: c.Seq, Hash: h, Time: c.Time, Signature: sig}, nil
}

// Checkpointer signs the audit log's head.
type Checkpointer interface {
	Checkpoint(ctx context.Context) (audit.Checkpoint, error)
}

type evidenceDocument struct {
	Index           int    `json:"index"`
	Name            string `json:"name"`
	DigestAlgorithm string `json:"digestAlgorithm"`
	Digest          string `json:"digest"`
	Signature       string `json:"signature,omitempty"` // base64 of the CMS (hash mode)
	// ResultSHA256 is the SHA-256 of the result (the CMS), kept after retention deleted it.
	ResultSHA256 string `json:"resultSha256,omitempty"`
}

type evidenceIcon struct {
	Shown   string   `json:"shown"`
	Choices []string `json:"choices"`
	Chosen  string   `json:"chosen,omitempty"`
}

type evidenceTimes struct {
	Created  time.Time  `json:"created"`
	Expires  time.Time  `json:"expires"`
	Approved *time.Time `json:"approved,omitempty"`
	Finished *time.Time `json:"finished,omitempty"`
}

type evidenceAudit struct {
	Seq      int64             `json:"seq"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Actor    string            `json:"actor"`
	Detail   map[string]string `json:"detail,omitempty"`
	PrevHash string            `json:"prevHash"`
	Hash     string            `json:"hash"`
}

// NewEvidenceRecord renders evidence for the API and the CLI alike.
func NewEvidenceRecord(ev *signer.Evidence) EvidenceRecord {
	r := ev.Request
	out := EvidenceRecord{RequestID: r.ID, Integrator: r.IntegratorID, Signer: r.UserID, Status: string(r.Status), Reason: r.Reason,
		Format: string(r.Format), Level: string(r.Level), DeviceID: r.DeviceID,
		Icon:  evidenceIcon{Shown: r.IconID, Choices: r.IconChoices, Chosen: r.ChosenIcon},
		Times: evidenceTimes{Created: r.CreatedAt, Expires: r.ExpiresAt, Approved: r.ApprovedAt, Finished: r.FinishedAt},
		Audit: []evidenceAudit{}}
	for _, d := range r.Documents {
		ed := evidenceDocument{Index: d.Index, Name: d.Name, DigestAlgorithm: signer.HashName(d.Hash), Digest: base64.StdEncoding.EncodeToString(d.Digest)}
		if r.Format == signer.FormatCAdES && len(d.Result) > 0 {
			ed.Signature = base64.StdEncoding.EncodeToString(d.Result)
		}
		switch {
		case len(d.Result) > 0:
			sum := sha256.Sum256(d.Result)
			ed.ResultSHA256 = hex.EncodeToString(sum[:])
		case len(d.ResultSHA256) > 0:
			ed.ResultSHA256 = hex.EncodeToString(d.ResultSHA256)
		}
		out.Documents = append(out.Documents, ed)
	}
	if r.CreatedIP != "" || r.DecidedIP != "" {
		out.ClientIPs = map[string]string{}
		if r.CreatedIP != "" {
			out.ClientIPs["integrator"] = r.CreatedIP
		}
		if r.DecidedIP != "" {
			out.ClientIPs["device"] = r.DecidedIP
		}
	}
	if len(ev.Certificate) > 0 {
		out.Certificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ev.Certificate}))
	}
	for _, e := range ev.Audit {
		out.Audit = append(out.Audit, evidenceAudit{Seq: e.Seq, Time: e.Time, Type: e.Event.Type, Actor: e.Event.Actor,
			Detail: e.Event.Detail, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)})
	}
	return out
}

func (s *server) evidence(c *gin.Context) {
	ev, err := s.Requests.Evidence(c.Request.Context(), integratorOf(c).ID, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	rec := NewEvidenceRecord(ev)
	if s.Checkpoints != nil {
		cp, err := s.Checkpoints.Checkpoint(c.Request.Context())
		if err != nil {
			fail(c, err)
			return
		}
		rec.Checkpoint = NewCheckpointOut(cp)
	}
	c.JSON(http.StatusOK, rec)
}
