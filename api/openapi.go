package api

import (
	_ "embed" // for the OpenAPI document
	"net/http"

	"github.com/gin-gonic/gin"
)

// openapiYAML is the OpenAPI 3.1 document of every route. TestOpenAPIMatchesRoutes keeps
// it and the router in step.
//
//go:embed openapi.yaml
var openapiYAML []byte

// openapi serves the OpenAPI document (GET /openapi.yaml).
func (s *server) openapi(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/yaml", openapiYAML)
}
