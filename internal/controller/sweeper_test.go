package controller_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare"
	"github.com/tokenoperator/cloudflare-token-operator/internal/cloudflare/cloudflaretest"
	"github.com/tokenoperator/cloudflare-token-operator/internal/controller/tokenname"
)

var _ = Describe("orphan sweeper", func() {
	It("revokes this cluster's unrecorded tokens after the grace period and never touches foreign ones", func() {
		zone := fake.ZoneID("example.net")
		policy := []cloudflaretest.Policy{{Effect: "allow", PermissionGroupIDs: []string{cloudflaretest.PermZoneRead},
			Resources: map[string]any{cloudflare.ZoneResource(zone): "*"}}}
		orphans, foreign := make([]string, 0, 3), make([]string, 0, 2)
		for i := range 3 {
			name := tokenname.Name{Cluster: tokenname.ClusterHash(clusterName), UID: uuid.NewUUID(), Serial: 1}.
				Format("gone", fmt.Sprintf("deleted-without-finalizer-%d", i))
			id, _ := fake.Seed(cloudflaretest.SeedToken{Name: name, Policies: policy})
			orphans = append(orphans, id)
		}
		otherCluster := tokenname.Name{Cluster: tokenname.ClusterHash("another-cluster"), UID: uuid.NewUUID(), Serial: 1}.Format("x", "y")
		for _, name := range []string{otherCluster, "laptop token made by hand"} {
			id, _ := fake.Seed(cloudflaretest.SeedToken{Name: name, Policies: policy})
			foreign = append(foreign, id)
		}
		Eventually(func() []string {
			var left []string
			for _, id := range orphans {
				if _, ok := fake.Token(id); ok {
					left = append(left, id)
				}
			}
			return left
		}, 5*orphanGrace+3*driftInterval, 200*time.Millisecond).Should(BeEmpty())
		for _, id := range foreign {
			_, ok := fake.Token(id)
			Expect(ok).To(BeTrue(), "a foreign token was revoked")
		}
	})
})
