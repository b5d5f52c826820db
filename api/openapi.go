package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3.1 description of every route bankfeed serves
// on BANKFEED_LISTEN: one hand-maintained file, checked against every
// response of the api package's tests (openapi_test.go), so that it cannot
// drift from what the handlers answer.
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
