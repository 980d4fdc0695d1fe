package app

import (
	"time"

	"github.com/paraphe/paraphe/retention"
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
	return retention.New(e.Store, e.Audit, e.RetentionConfig(), nil, e.Log)
}
