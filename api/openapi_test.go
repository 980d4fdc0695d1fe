package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"
)

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// loadOpenAPI decodes the embedded document and returns it with its paths.
func loadOpenAPI(t *testing.T) (doc map[string]any, paths map[string]map[string]any) {
	t.Helper()
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	ps, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.yaml has no paths object")
	}
	paths = map[string]map[string]any{}
	for p, item := range ps {
		m, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("path %s is not an object", p)
		}
		paths[p] = m
	}
	return doc, paths
}

// operations lists the "METHOD /path" pairs of a paths object.
func operations(paths map[string]map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for p, item := range paths {
		for k, v := range item {
			if slices.Contains(httpMethods, k) {
				op, _ := v.(map[string]any)
				out[strings.ToUpper(k)+" "+p] = op
			}
		}
	}
	return out
}

// ginParam matches gin path parameters: ":id" and the catch-all "*request".
var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// openapiPath writes a gin route path as an OpenAPI path: /a/:id → /a/{id}; the
// catch-all /ocsp/*request → /ocsp/{request}.
func openapiPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

func TestOpenAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/signature-requests":                      "/v1/signature-requests",
		"/v1/signature-requests/:id/documents/:index": "/v1/signature-requests/{id}/documents/{index}",
		"/ocsp/*request":                              "/ocsp/{request}",
		"/v1/icons/:file":                             "/v1/icons/{file}",
	} {
		if got := openapiPath(in); got != want {
			t.Errorf("openapiPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenAPIMatchesRoutes checks both ways that every route of the real router is in
// the document and every operation of the document is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	h, err := New(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	engine, ok := h.(*gin.Engine)
	if !ok {
		t.Fatalf("New returned %T, want *gin.Engine", h)
	}
	routes := map[string]bool{}
	for _, r := range engine.Routes() {
		routes[r.Method+" "+openapiPath(r.Path)] = true
	}
	if len(routes) == 0 {
		t.Fatal("the router has no routes")
	}
	_, paths := loadOpenAPI(t)
	documented := operations(paths)

	var missing []string
	for r := range routes {
		if documented[r] == nil {
			missing = append(missing, "route "+r+" is not in openapi.yaml")
		}
	}
	for d := range documented {
		if !routes[d] {
			missing = append(missing, "openapi.yaml documents "+d+", which the router does not serve")
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Error(m)
	}
}

// TestOpenAPIDocument checks the document's own consistency: version, the contract's
// path, operation ids, responses, path parameters, and that every $ref resolves.
func TestOpenAPIDocument(t *testing.T) {
	doc, paths := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", v)
	}
	if _, ok := paths["/v1/signature-requests"]; !ok {
		t.Error("paths lacks /v1/signature-requests (the acceptance check reads it)")
	}

	t.Run("operations", func(t *testing.T) {
		ids := map[string]string{}
		braces := regexp.MustCompile(`\{([^}]+)\}`)
		for path, item := range paths {
			for method, v := range item {
				if !slices.Contains(httpMethods, method) {
					continue
				}
				op, _ := v.(map[string]any)
				where := strings.ToUpper(method) + " " + path
				id, _ := op["operationId"].(string)
				if id == "" {
					t.Errorf("%s has no operationId", where)
				} else if prev, dup := ids[id]; dup {
					t.Errorf("operationId %q on both %s and %s", id, prev, where)
				}
				ids[id] = where
				if rs, _ := op["responses"].(map[string]any); len(rs) == 0 {
					t.Errorf("%s has no responses", where)
				}
				declared := pathParams(t, doc, item["parameters"], op["parameters"])
				var inPath []string
				for _, m := range braces.FindAllStringSubmatch(path, -1) {
					inPath = append(inPath, m[1])
					if !declared[m[1]] {
						t.Errorf("%s does not declare path parameter %q", where, m[1])
					}
				}
				for p := range declared {
					if !slices.Contains(inPath, p) {
						t.Errorf("%s declares path parameter %q that is not in its path", where, p)
					}
				}
			}
		}
	})

	t.Run("refs", func(t *testing.T) {
		var walk func(v any, at string)
		walk = func(v any, at string) {
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					if ref, ok := e.(string); ok && k == "$ref" {
						if _, err := resolve(doc, ref); err != nil {
							t.Errorf("%s: %v", at, err)
						}
						continue
					}
					walk(e, at+"/"+k)
				}
			case []any:
				for i, e := range v {
					walk(e, fmt.Sprintf("%s/%d", at, i))
				}
			}
		}
		walk(doc, "#")
	})

	t.Run("problem schema", func(t *testing.T) {
		props, err := resolve(doc, "#/components/schemas/Problem/properties")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"type", "title", "status", "detail", "instance", "code", "attemptsLeft", "requestId"} {
			if _, ok := props.(map[string]any)[f]; !ok {
				t.Errorf("Problem lacks %q", f)
			}
		}
		enum, err := resolve(doc, "#/components/schemas/Problem/properties/code/enum")
		if err != nil {
			t.Fatal(err)
		}
		codes, _ := enum.([]any)
		for _, c := range []string{CodeInvalid, CodeUnauthenticated, CodeNotFound, CodeNotPending, CodeExpired,
			CodeWrongIcon, CodeWrongPIN, CodeLocked, CodeBlocked, CodeSignerInactive, CodeStaleChallenge,
			CodeBadApproval, CodeActivation, CodeNotReady, CodeTooLarge, CodeUnsupportedType, CodeTooMany,
			CodeRateLimited, CodeInternal, CodeUnavailable, CodeNotAllowed} {
			if !slices.Contains(codes, any(c)) {
				t.Errorf("Problem.code enum lacks %q", c)
			}
		}
		// every code the error mapping can answer with is in the enum
		for _, m := range mappings {
			if !slices.Contains(codes, any(m.code)) {
				t.Errorf("Problem.code enum lacks %q (answered for %v)", m.code, m.err)
			}
		}
	})
}

// pathParams returns the names of the required path parameters declared in the given
// parameter lists (a path item's and an operation's), following $refs.
func pathParams(t *testing.T, doc map[string]any, lists ...any) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, l := range lists {
		ps, _ := l.([]any)
		for _, p := range ps {
			pm, _ := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				r, err := resolve(doc, ref)
				if err != nil {
					t.Errorf("parameter: %v", err)
					continue
				}
				pm, _ = r.(map[string]any)
			}
			if pm["in"] != "path" {
				continue
			}
			name, _ := pm["name"].(string)
			if pm["required"] != true {
				t.Errorf("path parameter %q is not marked required", name)
			}
			out[name] = true
		}
	}
	return out
}

// resolve follows a local JSON pointer ("#/components/schemas/Problem").
func resolve(doc map[string]any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = doc
	for part := range strings.SplitSeq(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return cur, nil
}

// TestOpenAPIHandler checks the handler serves the embedded document as YAML.
func TestOpenAPIHandler(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	s := &server{}
	r.GET("/openapi.yaml", s.openapi)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("HTTP %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("content type %q, want application/yaml", ct)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("served document does not parse: %v", err)
	}
	if ps, _ := doc["paths"].(map[string]any); ps["/v1/signature-requests"] == nil {
		t.Error("served document lacks /v1/signature-requests")
	}
}
