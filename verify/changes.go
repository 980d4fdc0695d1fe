package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/paraphe/paraphe/pdf"
)

// maxWalk bounds the objects visited when mapping what an object is used
// for; real pages reach a few thousand objects at most.
const maxWalk = 500_000

// change is a classified modification; failed marks the not-allowed
// changes that alter what a page shows (TOTAL_FAILED), the other not-allowed
// changes leave the signature INDETERMINATE.
type change struct {
	Modification
	failed bool
}

// roles maps the objects of one revision to what they are used for.
type roles struct {
	root       int
	pages      map[int]int // page object -> 1-based page number
	pageTree   map[int]bool
	annotsArr  map[int]int // /Annots array object -> page object
	content    map[int]int // contents, resources, fonts, images -> page number
	font       map[int]bool
	annot      map[int]bool // annotations other than widgets
	widget     map[int]bool // widget annotations
	field      map[int]bool // form fields (terminal and parents)
	appearance map[int][]int
	acroform   int
	fieldsArr  int
	sig        map[int]bool
	dss        map[int]bool
	meta       map[int]bool
	// parents maps each object to the objects whose value refers to it
	// (0 for the trailer).
	parents map[int][]int
}

// directRefs calls f for each reference inside o, not following them.
func directRefs(o pdf.Object, f func(pdf.Ref)) {
	stack := []pdf.Object{o}
	for n := 0; len(stack) > 0 && n < maxWalk; n++ {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := x.(type) {
		case pdf.Ref:
			f(v)
		case []pdf.Object:
			stack = append(stack, v...)
		case *pdf.Dict:
			for _, c := range v.All() {
				stack = append(stack, c)
			}
		case *pdf.Stream:
			for _, c := range v.Dict().All() {
				stack = append(stack, c)
			}
		}
	}
}

// referenceGraph records, for every object reachable from the trailer,
// which objects refer to it.
func referenceGraph(d *document) map[int][]int {
	parents := map[int][]int{}
	seen := map[int]bool{}
	var queue []int
	directRefs(d.trailer, func(r pdf.Ref) {
		if r.Num == 0 && len(parents[0]) == 0 {
			return
		}
		parents[r.Num] = append(parents[r.Num], 0)
		if !seen[r.Num] {
			seen[r.Num] = true
			queue = append(queue, r.Num)
		}
	})
	for len(queue) > 0 && len(seen) < maxWalk {
		num := queue[0]
		queue = queue[1:]
		directRefs(d.get(pdf.Ref{Num: num}), func(r pdf.Ref) {
			parents[r.Num] = append(parents[r.Num], num)
			if !seen[r.Num] {
				seen[r.Num] = true
				queue = append(queue, r.Num)
			}
		})
	}
	return parents
}

// walk visits the objects reachable from o through references, skipping
// back-pointers (/Parent, /P) and annotations, and calls visit once per
// object number (even for numbers that are not defined).
func walk(d *document, o pdf.Object, visit func(num int, v pdf.Object)) {
	seen := map[int]bool{}
	stack := []pdf.Object{o}
	for len(stack) > 0 && len(seen) < maxWalk {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if r, ok := x.(pdf.Ref); ok {
			if seen[r.Num] {
				continue
			}
			seen[r.Num] = true
			v := d.get(r)
			visit(r.Num, v)
			x = v
		}
		switch v := x.(type) {
		case []pdf.Object:
			stack = append(stack, v...)
		case *pdf.Dict:
			for k, c := range v.All() {
				if k != "Parent" && k != "P" && k != "Annots" && k != "Popup" && k != "IRT" {
					stack = append(stack, c)
				}
			}
		case *pdf.Stream:
			for k, c := range v.Dict().All() {
				if k != "Parent" && k != "P" {
					stack = append(stack, c)
				}
			}
		}
	}
}

func isFontDict(v pdf.Object) bool {
	var d *pdf.Dict
	switch x := v.(type) {
	case *pdf.Dict:
		d = x
	case *pdf.Stream:
		d = x.Dict()
		if d.Get("Length1") != nil || d.Get("Subtype") == pdf.Name("Type1C") || d.Get("Subtype") == pdf.Name("CIDFontType0C") || d.Get("Subtype") == pdf.Name("OpenType") {
			return true
		}
	}
	return d != nil && (d.Get("Type") == pdf.Name("Font") || d.Get("Type") == pdf.Name("FontDescriptor"))
}

func computeRoles(d *document) *roles {
	r := &roles{pages: map[int]int{}, pageTree: map[int]bool{}, annotsArr: map[int]int{}, content: map[int]int{},
		font: map[int]bool{}, annot: map[int]bool{}, widget: map[int]bool{}, field: map[int]bool{},
		appearance: map[int][]int{}, sig: map[int]bool{}, dss: map[int]bool{}, meta: map[int]bool{}}
	r.parents = referenceGraph(d)
	if root, ok := d.trailer.Get("Root").(pdf.Ref); ok {
		r.root = root.Num
	}
	if info, ok := d.trailer.Get("Info").(pdf.Ref); ok {
		r.meta[info.Num] = true
	}
	cat := d.catalog()
	if m, ok := cat.Get("Metadata").(pdf.Ref); ok {
		r.meta[m.Num] = true
	}
	// Page tree.
	var pageList []int
	seen := map[int]bool{}
	var tree func(o pdf.Object, depth int)
	tree = func(o pdf.Object, depth int) {
		ref, ok := o.(pdf.Ref)
		if !ok || seen[ref.Num] || depth > 64 || len(seen) > maxWalk {
			return
		}
		seen[ref.Num] = true
		node := d.dict(ref)
		if node == nil {
			r.pageTree[ref.Num] = true
			return
		}
		kids, isNode := d.get(node.Get("Kids")).([]pdf.Object)
		if node.Get("Type") == pdf.Name("Pages") || (isNode && node.Get("Type") != pdf.Name("Page")) {
			r.pageTree[ref.Num] = true
			if kr, ok := node.Get("Kids").(pdf.Ref); ok {
				r.pageTree[kr.Num] = true
			}
			walk(d, node.Get("Resources"), func(num int, v pdf.Object) {
				r.content[num] = 0
				if isFontDict(v) {
					r.font[num] = true
				}
			})
			for _, k := range kids {
				tree(k, depth+1)
			}
			return
		}
		pageList = append(pageList, ref.Num)
		r.pages[ref.Num] = len(pageList)
	}
	tree(cat.Get("Pages"), 0)
	for _, p := range pageList {
		page := d.dict(pdf.Ref{Num: p})
		n := r.pages[p]
		for _, key := range []pdf.Name{"Contents", "Resources", "Group", "Thumb", "B", "VP", "Metadata"} {
			walk(d, page.Get(key), func(num int, v pdf.Object) {
				r.content[num] = n
				if isFontDict(v) {
					r.font[num] = true
				}
			})
		}
		if ar, ok := page.Get("Annots").(pdf.Ref); ok {
			r.annotsArr[ar.Num] = p
		}
		annots, _ := d.get(page.Get("Annots")).([]pdf.Object)
		for _, a := range annots {
			ar, ok := a.(pdf.Ref)
			if !ok {
				continue
			}
			ad := d.dict(ar)
			if ad.Get("Subtype") == pdf.Name("Widget") {
				r.widget[ar.Num] = true
			} else {
				r.annot[ar.Num] = true
			}
			walk(d, ad.Get("AP"), func(num int, v pdf.Object) {
				r.appearance[num] = append(r.appearance[num], ar.Num)
			})
		}
	}
	// Form fields and signatures.
	if ar, ok := cat.Get("AcroForm").(pdf.Ref); ok {
		r.acroform = ar.Num
	}
	if acro := d.dict(cat.Get("AcroForm")); acro != nil {
		if fr, ok := acro.Get("Fields").(pdf.Ref); ok {
			r.fieldsArr = fr.Num
		}
	}
	for _, f := range d.fields() {
		if f.num != 0 {
			r.field[f.num] = true
		}
		parent := f.dict.Get("Parent")
		for i := 0; i < 32; i++ {
			pr, ok := parent.(pdf.Ref)
			if !ok || r.field[pr.Num] {
				break
			}
			r.field[pr.Num] = true
			parent = d.dict(pr).Get("Parent")
		}
		if kids, ok := d.get(f.dict.Get("Kids")).([]pdf.Object); ok {
			for _, k := range kids {
				if kr, ok := k.(pdf.Ref); ok {
					r.widget[kr.Num] = true
				}
			}
		}
		if f.ft == "Sig" {
			if vr, ok := f.dict.Get("V").(pdf.Ref); ok {
				r.sig[vr.Num] = true
				walk(d, vr, func(num int, _ pdf.Object) { r.sig[num] = true })
			} else if vd, ok := f.dict.Get("V").(*pdf.Dict); ok {
				walk(d, vd, func(num int, _ pdf.Object) { r.sig[num] = true })
			}
		}
	}
	if dr, ok := cat.Get("DSS").(pdf.Ref); ok {
		r.dss[dr.Num] = true
	}
	walk(d, cat.Get("DSS"), func(num int, _ pdf.Object) { r.dss[num] = true })
	return r
}

// permits says whether a DocMDP permission allows form filling / annotations.
func formFillAllowed(p int) bool   { return p != 1 }
func annotationAllowed(p int) bool { return p == 0 || p == 3 }

// diffRevisions classifies what revision b changed relative to a.
func diffRevisions(a, b *document, p int, rev int) []change {
	ra := computeRoles(a)
	var out []change
	add := func(kind string, allowed, failed bool, format string, args ...any) {
		out = append(out, change{Modification: Modification{Kind: kind, Allowed: allowed, Detail: fmt.Sprintf(format, args...), Revision: rev}, failed: failed && !allowed})
	}
	if ra2, ok := b.trailer.Get("Root").(pdf.Ref); !ok || ra2.Num != ra.root {
		add("catalog", false, true, "the document catalog was replaced")
		return out
	}

	// Changed objects, in number order.
	var changed []int
	for num, eb := range b.r.Entries() {
		ea, ok := a.r.Entry(num)
		if ok && ea == eb && eb.ObjStm == 0 {
			continue
		}
		if eb.Free && (!ok || ea.Free) {
			continue
		}
		changed = append(changed, num)
	}
	sort.Ints(changed)
	type pair struct{ a, b pdf.Object }
	vals := map[int]pair{}
	var real []int
	for _, num := range changed {
		va, vb := a.get(pdf.Ref{Num: num}), b.get(pdf.Ref{Num: num})
		if pdf.Equal(va, vb) {
			continue
		}
		vals[num] = pair{va, vb}
		real = append(real, num)
	}
	// Fields whose value changed: their widgets' appearances may change.
	valueChanged := map[int]bool{}
	for _, num := range real {
		if ra.field[num] || ra.widget[num] {
			da, db := asDict(vals[num].a), asDict(vals[num].b)
			if !pdf.Equal(da.Get("V"), db.Get("V")) || !pdf.Equal(da.Get("AS"), db.Get("AS")) {
				valueChanged[num] = true
			}
		}
	}
	widgetFieldChanged := func(w int) bool {
		if valueChanged[w] {
			return true
		}
		pr, ok := a.dict(pdf.Ref{Num: w}).Get("Parent").(pdf.Ref)
		return ok && valueChanged[pr.Num]
	}

	for _, num := range real {
		va, vb := vals[num].a, vals[num].b
		da, db := asDict(va), asDict(vb)
		switch {
		case num == ra.root:
			for _, k := range changedKeys(da, db) {
				switch k {
				case "DSS":
					add("dss", true, false, "document security store (validation data) added or updated")
				case "Extensions", "Version":
					add("catalog", true, false, "catalog /%s updated", k)
				case "Metadata":
					add("metadata", true, false, "document metadata updated")
				case "AcroForm":
					if _, direct := db.Get("AcroForm").(*pdf.Dict); direct {
						out = append(out, acroFormDiff(a, b, a.dict(da.Get("AcroForm")), b.dict(db.Get("AcroForm")), p, rev)...)
					} else {
						add("form", false, false, "the interactive form dictionary was replaced")
					}
				case "Pages":
					add("page-tree", false, true, "the page tree was replaced")
				case "Perms":
					add("catalog", false, true, "the document permissions (certification) were changed")
				default:
					add("catalog", false, false, "catalog /%s changed", k)
				}
			}
		case ra.sig[num]:
			add("signature-dictionary", false, true, "signature dictionary (object %d) changed after signing", num)
		case ra.dss[num]:
			add("dss", true, false, "document security store updated")
		case ra.pageTree[num]:
			for _, k := range changedKeys(da, db) {
				if displayKeys[k] {
					add("page-tree", false, true, "page tree node (object %d): /%s changed (pages added, removed, reordered or redrawn)", num, k)
				} else {
					add("page-tree", true, false, "page tree node (object %d): /%s changed (no effect on what pages show)", num, k)
				}
			}
		case ra.pages[num] != 0:
			out = append(out, pageDiff(a, b, da, db, ra.pages[num], p, rev)...)
		case ra.annotsArr[num] != 0:
			pn := ra.annotsArr[num]
			out = append(out, annotsDiff(a, b, va, vb, ra.pages[pn], p, rev)...)
		case hasKey(ra.content, num):
			kind, what := "page-content", "content or resource"
			if ra.font[num] {
				kind, what = "font", "font"
			}
			where := "pages"
			if n := ra.content[num]; n > 0 {
				where = fmt.Sprintf("page %d", n)
			}
			add(kind, false, true, "%s object %d used by %s changed", what, num, where)
		case ra.widget[num] || ra.field[num]:
			out = append(out, fieldDiff(da, db, num, p, rev)...)
		case ra.annot[num]:
			add("annotation", false, true, "annotation (object %d) changed: what the page shows may differ", num)
		case len(ra.appearance[num]) > 0:
			ok := formFillAllowed(p)
			for _, w := range ra.appearance[num] {
				if !ra.widget[w] || !widgetFieldChanged(w) {
					ok = false
				}
			}
			// Every object referring to the appearance must be a widget
			// being filled or part of an appearance itself: an appearance
			// also used elsewhere (shared) changes more than the field.
			for _, parent := range ra.parents[num] {
				if parent == 0 || !(ra.widget[parent] && widgetFieldChanged(parent)) && len(ra.appearance[parent]) == 0 {
					ok = false
				}
			}
			if ok {
				add("form-fill", true, false, "appearance of a filled form field updated (object %d)", num)
			} else {
				add("annotation", false, true, "appearance stream (object %d) changed for an annotation whose value did not change (shared or hidden appearance)", num)
			}
		case num == ra.acroform && ra.acroform != 0:
			out = append(out, acroFormDiff(a, b, da, db, p, rev)...)
		case num == ra.fieldsArr && ra.fieldsArr != 0:
			out = append(out, fieldsArrayDiff(a, b, va, vb, p, rev)...)
		case ra.meta[num]:
			add("metadata", true, false, "document information updated")
		case va == nil:
			// A new object: judged through the objects that refer to it.
		default:
			add("object", true, false, "unreferenced object %d changed (no effect on the document)", num)
		}
	}
	// New signatures and document timestamps.
	old := map[int]bool{}
	for _, sf := range a.signatureFields() {
		old[sf.sigRef.Num] = true
	}
	for _, sf := range b.signatureFields() {
		if sf.direct || old[sf.sigRef.Num] {
			continue
		}
		if sf.sig.Get("Type") == pdf.Name("DocTimeStamp") || sf.sig.Get("SubFilter") == pdf.Name("ETSI.RFC3161") {
			add("document-timestamp", true, false, "document timestamp %q added", sf.name)
		} else {
			add("signature", true, false, "signature %q added", sf.name)
		}
	}
	return dedupe(out)
}

// displayKeys are the page and page tree keys that change what pages show.
var displayKeys = map[string]bool{
	"Type": true, "Kids": true, "Count": true, "Parent": true, "Contents": true, "Resources": true,
	"MediaBox": true, "CropBox": true, "BleedBox": true, "TrimBox": true, "ArtBox": true, "Rotate": true,
	"Group": true, "UserUnit": true, "VP": true, "BoxColorInfo": true,
}

func hasKey(m map[int]int, k int) bool { _, ok := m[k]; return ok }

func asDict(v pdf.Object) *pdf.Dict {
	switch x := v.(type) {
	case *pdf.Dict:
		return x
	case *pdf.Stream:
		return x.Dict()
	}
	return nil // reads as an empty dictionary
}

func changedKeys(a, b *pdf.Dict) []string {
	var out []string
	for k, v := range a.All() {
		if !pdf.Equal(v, b.Get(k)) {
			out = append(out, string(k))
		}
	}
	for k := range b.All() {
		if a.Get(k) == nil {
			out = append(out, string(k))
		}
	}
	sort.Strings(out)
	return out
}

func pageDiff(a, b *document, da, db *pdf.Dict, n, p, rev int) []change {
	var out []change
	for _, k := range changedKeys(da, db) {
		if k == "Annots" {
			out = append(out, annotsDiff(a, b, da.Get("Annots"), db.Get("Annots"), n, p, rev)...)
			continue
		}
		switch {
		case displayKeys[k]:
			out = append(out, change{Modification: Modification{Kind: "page-content", Detail: fmt.Sprintf("page %d: /%s changed", n, k), Revision: rev}, failed: true})
		case k == "AA":
			out = append(out, change{Modification: Modification{Kind: "page-content", Detail: fmt.Sprintf("page %d: actions (/AA) changed", n), Revision: rev}})
		default:
			out = append(out, change{Modification: Modification{Kind: "page", Allowed: true, Detail: fmt.Sprintf("page %d: /%s changed (no effect on what the page shows)", n, k), Revision: rev}})
		}
	}
	return out
}

func refSet(d *document, o pdf.Object) map[int]bool {
	arr, _ := d.get(o).([]pdf.Object)
	s := map[int]bool{}
	for _, x := range arr {
		if r, ok := x.(pdf.Ref); ok {
			s[r.Num] = true
		}
	}
	return s
}

func annotsDiff(a, b *document, oa, ob pdf.Object, n, p, rev int) []change {
	var out []change
	sa, sb := refSet(a, oa), refSet(b, ob)
	for num := range sa {
		if !sb[num] {
			out = append(out, change{Modification: Modification{Kind: "annotation", Detail: fmt.Sprintf("page %d: annotation (object %d) removed", n, num), Revision: rev}, failed: true})
		}
	}
	for num := range sb {
		if sa[num] {
			continue
		}
		ad := b.dict(pdf.Ref{Num: num})
		sub, _ := ad.Get("Subtype").(pdf.Name)
		if sub == "Widget" && isSigField(b, ad) {
			out = append(out, change{Modification: Modification{Kind: "signature", Allowed: true, Detail: fmt.Sprintf("page %d: signature field added", n), Revision: rev}})
			continue
		}
		ok := annotationAllowed(p)
		m := Modification{Kind: "annotation", Allowed: ok, Detail: fmt.Sprintf("page %d: %s annotation added", n, strings.ToLower(string(sub))), Revision: rev}
		if !ok {
			m.Detail += " (the certification does not permit annotations)"
		}
		out = append(out, change{Modification: m, failed: !ok})
	}
	return out
}

func isSigField(d *document, w *pdf.Dict) bool {
	x := w
	for i := 0; i < 32 && x != nil; i++ {
		if ft, ok := d.get(x.Get("FT")).(pdf.Name); ok {
			return ft == "Sig"
		}
		x = d.dict(x.Get("Parent"))
	}
	return false
}

// Keys form filling may change on a field or widget.
var formKeys = map[string]bool{"V": true, "AS": true, "AP": true, "M": true, "MK": true, "DA": true, "NM": true}

func fieldDiff(da, db *pdf.Dict, num, p, rev int) []change {
	var out []change
	isSig := da.Get("FT") == pdf.Name("Sig") || db.Get("FT") == pdf.Name("Sig")
	for _, k := range changedKeys(da, db) {
		switch {
		case isSig && k == "V" && da.Get("V") == nil:
			out = append(out, change{Modification: Modification{Kind: "signature", Allowed: true, Detail: fmt.Sprintf("signature field (object %d) signed", num), Revision: rev}})
		case isSig && k == "V":
			out = append(out, change{Modification: Modification{Kind: "signature-dictionary", Detail: fmt.Sprintf("the value of signature field (object %d) was replaced", num), Revision: rev}, failed: true})
		case formKeys[k] && !isSig:
			ok := formFillAllowed(p)
			m := Modification{Kind: "form-fill", Allowed: ok, Detail: fmt.Sprintf("form field (object %d): /%s filled", num, k), Revision: rev}
			if !ok {
				m.Detail += " (the certification permits no change)"
			}
			out = append(out, change{Modification: m, failed: !ok})
		case formKeys[k] && isSig && k != "V":
			out = append(out, change{Modification: Modification{Kind: "signature", Allowed: true, Detail: fmt.Sprintf("signature field (object %d): /%s updated", num, k), Revision: rev}})
		case k == "Kids" || k == "Lock" || k == "SV" || k == "Ff" || k == "F" || k == "Rect":
			out = append(out, change{Modification: Modification{Kind: "annotation", Detail: fmt.Sprintf("form field (object %d): /%s changed", num, k), Revision: rev}, failed: k == "F" || k == "Rect" || k == "Kids"})
		default:
			out = append(out, change{Modification: Modification{Kind: "form", Detail: fmt.Sprintf("form field (object %d): /%s changed", num, k), Revision: rev}})
		}
	}
	return out
}

func acroFormDiff(a, b *document, da, db *pdf.Dict, p, rev int) []change {
	var out []change
	for _, k := range changedKeys(da, db) {
		switch k {
		case "Fields":
			out = append(out, fieldsArrayDiff(a, b, da.Get("Fields"), db.Get("Fields"), p, rev)...)
		case "DR", "DA", "SigFlags":
			out = append(out, change{Modification: Modification{Kind: "form", Allowed: true, Detail: "form /" + k + " updated", Revision: rev}})
		default:
			out = append(out, change{Modification: Modification{Kind: "form", Detail: "form /" + k + " changed", Revision: rev}})
		}
	}
	return out
}

func fieldsArrayDiff(a, b *document, oa, ob pdf.Object, p, rev int) []change {
	var out []change
	sa, sb := refSet(a, oa), refSet(b, ob)
	for num := range sa {
		if !sb[num] {
			out = append(out, change{Modification: Modification{Kind: "form", Detail: fmt.Sprintf("form field (object %d) removed", num), Revision: rev}, failed: true})
		}
	}
	for num := range sb {
		if sa[num] {
			continue
		}
		fd := b.dict(pdf.Ref{Num: num})
		if isSigField(b, fd) {
			continue // reported with the signature
		}
		ok := annotationAllowed(p)
		out = append(out, change{Modification: Modification{Kind: "form", Allowed: ok, Detail: fmt.Sprintf("form field (object %d) added", num), Revision: rev}})
	}
	return out
}

func dedupe(in []change) []change {
	seen := map[string]bool{}
	var out []change
	for _, c := range in {
		k := fmt.Sprintf("%s|%v|%s", c.Kind, c.Allowed, c.Detail)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	return out
}

// modifications fills each entry's modificationsAfterSigning and sets its
// indication for changes that are not allowed.
func (r *run) modifications(f *pdfFile, final *document, entries []*pdfEntry, p int) error {
	src := f.src
	last := len(f.ends) - 1
	diffs := map[int][]change{}
	diff := func(k int) ([]change, error) {
		if c, ok := diffs[k]; ok {
			return c, nil
		}
		a, errA := f.doc(k)
		b, errB := f.doc(k + 1)
		var c []change
		switch {
		case errA != nil || errB != nil:
			err := errA
			if err == nil {
				err = errB
			}
			if isAbort(err) {
				return nil, err
			}
			c = []change{{Modification: Modification{Kind: "object", Detail: fmt.Sprintf("revision %d cannot be read: %v", k+2, err), Revision: k + 2}}}
		default:
			c = diffRevisions(a, b, p, k+2)
		}
		if err := f.ctx.Err(); err != nil {
			return nil, err
		}
		diffs[k] = c
		return c, nil
	}
	trailing := ""
	if last >= 0 && !src.blankFrom(f.ctx, int64(f.ends[last])) {
		trailing = fmt.Sprintf("%d bytes after the last %%%%EOF that are not a complete revision", src.size-int64(f.ends[last]))
	}
	for _, e := range entries {
		if !e.brOK {
			continue
		}
		e.sig.CoversWholeDocument = src.blankFrom(f.ctx, int64(e.end))
		var all []change
		for k := e.rev; k < last; k++ {
			c, err := diff(k)
			if err != nil {
				return err
			}
			all = append(all, c...)
		}
		if trailing != "" {
			all = append(all, change{Modification: Modification{Kind: "trailing-data", Detail: trailing}})
		}
		res := e.res()
		var failed, unsure []string
		for _, c := range all {
			e.sig.ModificationsAfterSigning = append(e.sig.ModificationsAfterSigning, c.Modification)
			if c.Allowed {
				continue
			}
			if c.failed {
				failed = append(failed, c.Detail)
			} else {
				unsure = append(unsure, c.Detail)
			}
		}
		switch {
		case len(failed) > 0:
			res.fail("changes-after-signing", TotalFailed, FormatFailure, "changes after signing alter what the document shows: "+strings.Join(limit(failed, 5), "; "))
		case len(unsure) > 0:
			res.fail("changes-after-signing", Indeterminate, SigConstraintsFailure, "changes after signing that are not permitted: "+strings.Join(limit(unsure, 5), "; "))
		case len(all) > 0:
			res.check("changes-after-signing", true, fmt.Sprintf("%d later change(s), all permitted", len(all)))
		default:
			res.check("changes-after-signing", true, "no change after signing")
		}
	}
	_ = final
	return nil
}

func limit(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}
