package cloudflaretest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is one entry of the envelope's errors array; error_chain as Cloudflare nests it.
type apiError struct {
	Code       int        `json:"code"`
	Message    string     `json:"message"`
	ErrorChain []apiError `json:"error_chain,omitempty"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

type envelope struct {
	Success    bool        `json:"success"`
	Errors     []apiError  `json:"errors"`
	Messages   []any       `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

// writeJSON always sets Content-Type: the SDK refuses a 2xx reply without application/json.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOK(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []apiError{}, Messages: []any{}, Result: result})
}

func writeList(w http.ResponseWriter, result any, info resultInfo) {
	writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []apiError{}, Messages: []any{}, Result: result, ResultInfo: &info})
}

// writeErr answers a failure with a real error status: Cloudflare never says success:false with HTTP 200,
// and the SDK would take such a reply for success.
func writeErr(w http.ResponseWriter, status int, errs ...apiError) {
	if status < 400 {
		panic(fmt.Sprintf("cloudflaretest: error reply with status %d", status))
	}
	writeJSON(w, status, envelope{Success: false, Errors: errs, Messages: []any{}, Result: nil})
}

func fail(w http.ResponseWriter, status, code int, format string, args ...any) {
	writeErr(w, status, apiError{Code: code, Message: fmt.Sprintf(format, args...)})
}

// paginate slices items for page/per_page and answers "result":[] past the last page, which is what ends the
// SDK's auto-pager.
func paginate[T any](items []T, page, perPage int) ([]T, resultInfo) {
	total := len(items)
	pages := (total + perPage - 1) / perPage
	start := (page - 1) * perPage
	out := []T{}
	if start < total {
		end := min(start+perPage, total)
		out = append(out, items[start:end]...)
	}
	return out, resultInfo{Page: page, PerPage: perPage, Count: len(out), TotalCount: total, TotalPages: pages}
}
