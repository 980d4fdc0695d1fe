package app

import (
	"time"

	"github.com/paraphe/paraphe/retention"
	"github.com/paraphe/paraphe/signer"
)

// RetentionConfig converts the configured retention periods.
func (e *Env) RetentionConfig() retention.Config {
	r := e.Cfg.Retention
	return retention.Config{
		ResultGrace: time.Duration(r.ResultGrace), ResultMaxAge: time.Duration(r.ResultMaxAge),
		PseudonymizeAfter: time.Duration(r.PseudonymizeAfter), EvidenceKeep: time.Duration(r.EvidenceKeep),
		Interval: time.Duration(r.Interval),
	}
}

// RetentionJob returns the retention job over the store and the audit log (no HSM
// needed), for the server's workers and for paraphe retention run.
func (e *Env) RetentionJob() (*retention.Job, error) {
	blobs, err := e.Blobs()
	if err != nil {
		return nil, err
	}
	return retention.New(retention.Deps{
		Store: e.Store, Audit: e.Audit, Files: retention.NewFileSweeper(e.Store, blobs, signer.SignedKey, nil), Log: e.Log,
	}, e.RetentionConfig())
}
