package verify

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// plain gives the plain-words meaning of indications and sub-indications.
var plain = map[string]string{
	string(TotalPassed):                   "The signature is valid.",
	string(TotalFailed):                   "The signature is not valid.",
	string(Indeterminate):                 "The signature could not be confirmed.",
	string(FormatFailure):                 "The signature or the document is not built as the standards require, or was changed in a way that is not allowed.",
	string(HashFailure):                   "The signed content was changed after signing.",
	string(SigCryptoFailure):              "The signature value does not match the signer's key.",
	string(Revoked):                       "The signer's certificate was revoked before the signing time.",
	string(SigConstraintsFailure):         "The document or signature does not meet the validation rules (for example, a change after signing that is not permitted).",
	string(ChainConstraintsFailure):       "The signer's certificate chain does not meet the validation rules.",
	string(CertificateChainGeneral):       "The signer's certificate chain could not be checked.",
	string(CryptoConstraintsFailure):      "An algorithm used is not supported or not accepted.",
	string(CryptoConstraintsFailureNoPOE): "An algorithm used is no longer considered secure, and nothing proves the signature existed before.",
	string(NoSigningCertificateFound):     "The signer's certificate could not be found or does not match.",
	string(NoCertificateChainFound):       "The signer's certificate does not lead to a trusted authority.",
	string(OutOfBoundsNoPOE):              "A certificate had expired at the validation time, and nothing proves the signature existed before.",
	string(NotYetValid):                   "A certificate was not yet valid at the validation time.",
	string(SignedDataNotFound):            "The signed data could not be found or the format is not supported.",
	string(NoSignatureFound):              "The document holds no signature.",
	string(Generic):                       "The document could not be fully analysed.",
}

// Plain returns a sentence explaining an indication or sub-indication.
func Plain(code string) string { return plain[code] }

var funcs = template.FuncMap{
	"plain": func(v any) string { return plain[fmt.Sprint(v)] },
	"time": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if v != nil {
				return v.UTC().Format("2006-01-02 15:04:05 UTC")
			}
		}
		return "unknown"
	},
	"class": func(v Indication) string {
		switch v {
		case TotalPassed:
			return "ok"
		case TotalFailed:
			return "bad"
		}
		return "unsure"
	},
	"add": func(a, b int) int { return a + b },
}

var page = template.Must(template.New("report").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Signature validation report</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; color: #111; line-height: 1.4; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #999; }
.verdict { padding: .6rem 1rem; border-radius: .3rem; font-weight: bold; }
.ok { background: #e3f5e1; border-left: .4rem solid #2e7d32; }
.bad { background: #fde4e4; border-left: .4rem solid #c62828; }
.unsure { background: #fff4d6; border-left: .4rem solid #b7791f; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; vertical-align: top; padding: .25rem .5rem; border-bottom: 1px solid #ddd; }
th { width: 14rem; font-weight: 600; }
.pass::before { content: "\2713  "; color: #2e7d32; }
.fail::before { content: "\2717  "; color: #c62828; }
small { color: #555; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } section { break-inside: avoid; } }
</style>
</head>
<body>
<h1>Signature validation report</h1>
<p class="verdict {{class .Indication}}">{{.Indication}}{{with .SubIndication}} — {{.}}{{end}}<br>
<span style="font-weight:normal">{{plain .Indication}} {{with .SubIndication}}{{plain .}}{{end}}</span></p>
<table>
<tr><th>Validated on</th><td>{{time .ValidationTime}}</td></tr>
<tr><th>Document</th><td>{{.Document.Size}} bytes{{with .Document.Revisions}}, {{.}} revision(s){{end}}<br><small>SHA-256 {{.Document.SHA256}}</small></td></tr>
<tr><th>Signatures</th><td>{{len .Signatures}}</td></tr>
</table>
{{range .Notes}}<p><small>Note: {{.}}</small></p>{{end}}
{{range $i, $s := .Signatures}}
<section>
<h2>{{add $i 1}}. {{if eq $s.Kind "document-timestamp"}}Document timestamp{{else}}Signature{{end}}{{with $s.Field}} “{{.}}”{{end}}</h2>
<p class="verdict {{class $s.Indication}}">{{$s.Indication}}{{with $s.SubIndication}} — {{.}}{{end}}<br>
<span style="font-weight:normal">{{plain $s.Indication}} {{with $s.SubIndication}}{{plain .}}{{end}}</span></p>
<table>
<tr><th>{{if eq $s.Kind "document-timestamp"}}Timestamp authority{{else}}Signer{{end}}</th><td>{{with $s.Signer.CommonName}}<strong>{{.}}</strong><br>{{end}}<small>{{$s.Signer.Subject}}</small>{{with $s.Signer.SerialNumber}}<br><small>certificate serial {{.}}</small>{{end}}</td></tr>
<tr><th>Qualified certificate</th><td>{{if $s.Signer.Qualified}}Yes (qualified, key in a qualified signature creation device){{else}}No{{end}}{{with $s.Signer.TrustedList}} — per the {{.Territory}} trusted list ({{.List}}, sequence {{.SequenceNumber}}): {{.Service}}, {{.Provider}}{{end}}</td></tr>
<tr><th>Level</th><td>{{$s.Level}}</td></tr>
<tr><th>Signing time</th><td>{{time $s.SigningTime}}{{if $s.Timestamp}}{{if $s.Timestamp.Valid}} (proven by a timestamp){{end}}{{end}}</td></tr>
{{with $s.Timestamp}}<tr><th>Signature timestamp</th><td>{{time .Time}} by {{.TSA}} — {{if .Valid}}valid{{else}}not valid{{with .Detail}}: {{.}}{{end}}{{end}}</td></tr>{{end}}
<tr><th>Covers the whole document</th><td>{{if $s.CoversWholeDocument}}Yes{{else}}No: the document was extended after this {{if eq $s.Kind "document-timestamp"}}timestamp{{else}}signature{{end}}{{end}}</td></tr>
{{with $s.Reason}}<tr><th>Reason</th><td>{{.}}</td></tr>{{end}}
{{with $s.Location}}<tr><th>Location</th><td>{{.}}</td></tr>{{end}}
{{with $s.DocMDP}}<tr><th>Certification</th><td>{{if eq . 1}}No change permitted{{else if eq . 2}}Form filling and signing permitted{{else}}Form filling, signing and comments permitted{{end}}</td></tr>{{end}}
</table>
<h3>Checks</h3>
<ul>{{range $s.Checks}}<li class="{{if .Passed}}pass{{else}}fail{{end}}">{{.Name}}{{with .Detail}}: {{.}}{{end}}</li>{{end}}</ul>
<h3>Changes after signing</h3>
{{if $s.ModificationsAfterSigning}}<ul>{{range $s.ModificationsAfterSigning}}<li class="{{if .Allowed}}pass{{else}}fail{{end}}">{{if .Allowed}}Permitted{{else}}Not permitted{{end}}: {{.Detail}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
</section>
{{end}}
<p><small>Indications follow ETSI EN 319 102-1. Produced by Paraphe.</small></p>
</body>
</html>
`))

// WriteHTML writes r as a self-contained, printable HTML page (no external
// resource).
func WriteHTML(w io.Writer, r *Report) error {
	return page.Execute(w, r)
}

// WriteText writes r as a short human report.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", r.Indication)
	if r.SubIndication != "" {
		fmt.Fprintf(&b, " / %s", r.SubIndication)
	}
	fmt.Fprintf(&b, "\n%s %s\n", plain[string(r.Indication)], plain[string(r.SubIndication)])
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for i, s := range r.Signatures {
		fmt.Fprintf(&b, "\n%d. %s %q: %s", i+1, s.Kind, s.Field, s.Indication)
		if s.SubIndication != "" {
			fmt.Fprintf(&b, " / %s", s.SubIndication)
		}
		fmt.Fprintf(&b, "\n   signer: %s (qualified: %v)\n   level: %s\n   signing time: %s\n   covers whole document: %v\n",
			s.Signer.Subject, s.Signer.Qualified, s.Level, funcs["time"].(func(any) string)(s.SigningTime), s.CoversWholeDocument)
		if tl := s.Signer.TrustedList; tl != nil {
			fmt.Fprintf(&b, "   trusted list: %s (%s, sequence %d), service %q of %s, %s since %s\n",
				tl.Territory, tl.List, tl.SequenceNumber, tl.Service, tl.Provider, tl.Status, tl.StatusSince.Format(time.RFC3339))
		}
		if s.Timestamp != nil {
			fmt.Fprintf(&b, "   timestamp: %s by %s, valid: %v\n", s.Timestamp.Time.Format(time.RFC3339), s.Timestamp.TSA, s.Timestamp.Valid)
		}
		for _, c := range s.Checks {
			mark := "ok  "
			if !c.Passed {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "   [%s] %s: %s\n", mark, c.Name, c.Detail)
		}
		for _, m := range s.ModificationsAfterSigning {
			mark := "permitted"
			if !m.Allowed {
				mark = "NOT PERMITTED"
			}
			fmt.Fprintf(&b, "   change (%s): %s\n", mark, m.Detail)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
