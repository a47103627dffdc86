package controller

import cfv1 "github.com/tokenoperator/cloudflare-token-operator/api/v1alpha1"

// recordedIDs are the ids of the tokens a CloudflareToken's status records: the current one and the
// retiring ones. Whatever is not among them, of this resource, is unrecorded.
func recordedIDs(st *cfv1.CloudflareTokenStatus) map[string]bool {
	ids := make(map[string]bool, 1+len(st.RetiringTokens))
	if st.TokenID != "" {
		ids[st.TokenID] = true
	}
	for _, rt := range st.RetiringTokens {
		ids[rt.ID] = true
	}
	return ids
}
