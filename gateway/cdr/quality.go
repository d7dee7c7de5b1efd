package cdr

import "strconv"

// LegsFromStats reads the per-leg figures of an rtpengine delete or query
// reply (the reply dictionary as a map, rtpengine.Reply.Map) for the
// parties with the given tags. A party rtpengine does not know is nil.
//
// For each tag, the packets, bytes and errors of all its streams (what
// rtpengine received from that party) are summed; MOS, jitter and loss
// come from the reply's SSRC section for the SSRCs that party sent, when
// RTCP gave rtpengine any ("average MOS": MOS in tenths, jitter in ms,
// packet loss in percent).
func LegsFromStats(reply map[string]any, callerTag, calleeTag string) (caller, callee *Leg) {
	tags, _ := reply["tags"].(map[string]any)
	ssrcs, _ := reply["SSRC"].(map[string]any)
	leg := func(tag string) *Leg {
		t, ok := tags[tag].(map[string]any)
		if !ok || tag == "" {
			return nil
		}
		l := &Leg{}
		var mos, jitter, loss []float64
		medias, _ := t["medias"].([]any)
		for _, m := range medias {
			media, _ := m.(map[string]any)
			if c, ok := media["codec"].(string); ok && l.Codec == "" {
				l.Codec = c
			}
			streams, _ := media["streams"].([]any)
			for _, s := range streams {
				st, _ := s.(map[string]any)
				stats, _ := st["stats"].(map[string]any)
				l.Packets += count(stats["packets"])
				l.Bytes += count(stats["bytes"])
				l.Errors += count(stats["errors"])
				if n, ok := st["SSRC"].(int64); ok {
					avg, _ := ssrcs[strconv.FormatInt(n, 10)].(map[string]any)
					avg, _ = avg["average MOS"].(map[string]any)
					if v, ok := avg["MOS"].(int64); ok && v > 0 {
						mos = append(mos, float64(v)/10)
						if j, ok := avg["jitter"].(int64); ok {
							jitter = append(jitter, float64(j))
						}
						if p, ok := avg["packet loss"].(int64); ok {
							loss = append(loss, float64(p))
						}
					}
				}
			}
		}
		l.MOS, l.JitterMS, l.LossPercent = mean(mos), mean(jitter), mean(loss)
		return l
	}
	return leg(callerTag), leg(calleeTag)
}

// count reads a non-negative bencode integer (int64), 0 otherwise.
func count(v any) uint64 {
	if n, ok := v.(int64); ok && n > 0 {
		return uint64(n)
	}
	return 0
}

func mean(vs []float64) *float64 {
	if len(vs) == 0 {
		return nil
	}
	var s float64
	for _, v := range vs {
		s += v
	}
	s /= float64(len(vs))
	return &s
}
