// Added by the LinqProtocol toolkit's setup (linq/tools/setup.py, build_kube_network_policies): this kernel
// has no CONFIG_NFT_QUEUE (the native `queue` expression fails with ENOENT and the controller installs no
// table, so policies are silently not enforced) but has NFT_COMPAT and the xt NFQUEUE target. The same
// verdict through xt: struct xt_NFQ_info_v3 {u16 queuenum; u16 queues_total; u16 flags} padded to 8 bytes.
package networkpolicy

import (
	"encoding/binary"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
)

func nfqueueTarget(num uint16, bypass bool) *expr.Target {
	info := make([]byte, 8)
	binary.NativeEndian.PutUint16(info[0:], num)
	binary.NativeEndian.PutUint16(info[2:], 1)
	if bypass {
		binary.NativeEndian.PutUint16(info[4:], 1) // NFQ_FLAG_BYPASS
	}
	unknown := xt.Unknown(info)
	return &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &unknown}
}
